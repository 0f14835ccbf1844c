import type { Middleware } from 'koa';
import type { Logger } from './logger.js';

/** Path segments that are bearer secrets themselves (attribute check links): logged masked. */
const SECRET_SEGMENT = /(\/directory-check\/)[^/]+/;

export function loggablePath(path: string): string {
  return path.replace(SECRET_SEGMENT, '$1[redacted]');
}

/** One line per request: method, path (never the query: it carries codes and state), status, time. */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: ctx.method, path: loggablePath(ctx.path), status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
