import { timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { metricsRegistry } from './metrics.js';

/**
 * `GET /metrics` in Prometheus' text format. On the admin listener (internal by design) it is open;
 * on the public listener only with `Authorization: Bearer <metrics.token>`, and absent without a
 * token, so the numbers of a national federation's logins are not published to the world.
 */
export function metricsEndpoint(options: { open: true } | { token: string | undefined }): Middleware {
  const expected = 'token' in options && options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    if (!('open' in options)) {
      if (!expected) return next();
      const given = Buffer.from(ctx.get('authorization'));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        ctx.status = 401;
        ctx.body = { error: 'unauthorized', error_description: 'metrics need the metrics token (Authorization: Bearer)' };
        return;
      }
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metricsRegistry.contentType;
    ctx.body = await metricsRegistry.metrics();
  };
}
