import type { Middleware } from 'koa';
import type { Logger } from './logger.js';
import { newRequestId, requestContext } from './request-context.js';

/** Path segments that are bearer secrets themselves (attribute check links): logged masked. */
const SECRET_SEGMENT = /(\/directory-check\/)[^/]+/;

/** A proxy's request id we take over: letters, digits and a few separators, nothing to inject. */
const FORWARDED_ID = /^[A-Za-z0-9._:-]{8,64}$/;

export function loggablePath(path: string): string {
  return path.replace(SECRET_SEGMENT, '$1[redacted]');
}

/**
 * One line per request: method, path (never the query: it carries codes and state), status, time,
 * and the request's reference. The reference is made here, sent as `X-Request-Id`, and added to every
 * line logged while the request is served (see the logger's mixin), so the reference on an error page
 * finds the error's log line. Behind a trusted proxy (trustProxy) the proxy's X-Request-Id is taken
 * over when it is a plain token, so one id follows the request through the proxy's logs and ours;
 * otherwise it is client-controlled text and a reference of our own is made.
 *
 * In a multi-environment deployment the outer app and each environment's app both have this; the
 * outermost one logs (it sees the full path) and the inner ones pass through.
 */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    if (ctx.state.requestId) return next();
    const forwarded = ctx.app.proxy ? ctx.get('x-request-id') : '';
    const requestId = FORWARDED_ID.test(forwarded) ? forwarded : newRequestId();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const path = loggablePath(ctx.path);
    const started = process.hrtime.bigint();
    try {
      await requestContext.run({ requestId }, next);
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ ref: requestId, method: ctx.method, path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
