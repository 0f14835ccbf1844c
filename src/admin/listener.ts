import Koa, { type Middleware } from 'koa';
import { mountAt } from '../http/mount.js';
import type { Logger } from '../observability/logger.js';
import { requestLog } from '../observability/request-log.js';
import { StoreUnavailableError, type Storage } from '../storage/types.js';
import { ADMIN_PREFIX } from './api.js';
import { metricsEndpoint } from '../observability/metrics-route.js';

/**
 * The admin listener (`admin.port`): the admin API alone, off the public port, so it can be bound to
 * an internal address or firewalled apart from the logins. With one environment the API is at
 * /admin/api; with several (`environments`), each environment's is at /<name>/admin/api (e.g.
 * /production/admin/api): the paths never collide, whatever the issuers look like.
 */

interface AdminEnvironment {
  name: string;
  admin: Middleware;
}

export interface AdminListenerOptions {
  environments: AdminEnvironment[];
  /** Several environments: each under /<name>. One: at the root. */
  byName: boolean;
  storage: Storage;
  logger: Logger;
  trustProxy: boolean;
}

/** Where each environment's admin API is on the admin listener (for the log and the 404 answer). */
export function adminPaths(options: Pick<AdminListenerOptions, 'environments' | 'byName'>): string[] {
  return options.byName ? options.environments.map((e) => `/${e.name}${ADMIN_PREFIX}`) : [ADMIN_PREFIX];
}

function json(ctx: Koa.Context, status: number, error: string, description: string, extra: Record<string, unknown> = {}): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description, ...extra };
}

export function createAdminListenerApp(options: AdminListenerOptions): Koa {
  const { environments, byName, storage, logger } = options;
  const app = new Koa();
  app.proxy = options.trustProxy;
  app.silent = true;
  app.use(requestLog(logger));
  // The admin API turns its own failures into JSON; what is left is the store being down, or a bug.
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    try {
      if (!storage.isAvailable()) throw new StoreUnavailableError();
      await next();
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        ctx.set('Retry-After', '5');
        json(ctx, 503, 'temporarily_unavailable', 'the service is temporarily unavailable');
        return;
      }
      logger.error({ err, path: ctx.path }, 'admin listener error');
      json(ctx, 500, 'server_error', 'unexpected error');
    }
  });
  app.use(metricsEndpoint({ open: true }));
  for (const environment of environments) app.use(byName ? mountAt(`/${environment.name}`, environment.admin) : environment.admin);
  const paths = adminPaths(options);
  app.use((ctx) => json(ctx, 404, 'not_found', 'no such endpoint; the admin API is under the paths listed', { adminApis: paths }));
  return app;
}
