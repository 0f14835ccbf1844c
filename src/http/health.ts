import Router from '@koa/router';
import type { Storage } from '../storage/types.js';

/**
 * /healthz: the process answers. /readyz: it can serve logins (the store is reachable) and is not
 * stopping: a stopping instance says so while it still serves, so that a load balancer sends it
 * nothing new before it stops listening.
 */
export function healthRouter(storage: Storage, stopping: () => boolean = () => false): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (stopping()) {
      ctx.status = 503;
      ctx.body = { status: 'stopping', store: storage.kind };
      return;
    }
    try {
      await storage.ping();
      ctx.body = { status: 'ready', store: storage.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: storage.kind };
    }
  });
  return router;
}
