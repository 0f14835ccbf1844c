import type { Context, Middleware } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { StoreUnavailableError } from '../storage/types.js';
import type { Logger } from '../observability/logger.js';
import { requestIdOf } from '../observability/request-context.js';
import { loggablePath } from '../observability/request-log.js';
import { localeOf, type PageRenderer } from './pages.js';
import { Refusal } from './refusal.js';

/** Paths answered with pages for people; everything else is an API answered with JSON. */
const PAGE_PATHS = /^\/(interaction|upstream|auth|session|attribute-test|test-directory)(\/|$)|^\/$/;

export function isStoreFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    if (e instanceof StoreUnavailableError) return true;
  }
  return false;
}

function isPage(ctx: Context): boolean {
  return PAGE_PATHS.test(ctx.path);
}

export function storeUnavailable(ctx: Context, pages: PageRenderer): void {
  // A step the store failed under changes nothing in the browser either: cookies it cleared or
  // replaced (the directory transaction, oidc-provider's resume and session cookies) stay as they
  // were, so reloading the page repeats the same step.
  ctx.res.removeHeader('Set-Cookie');
  ctx.set('Retry-After', '5');
  if (isPage(ctx)) {
    pages.error(ctx, localeOf(ctx), { status: 503, messageKey: 'error.store_unavailable', showBack: false });
  } else {
    ctx.status = 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable' };
  }
}

/**
 * The outermost middleware: whatever fails below becomes a readable page or a JSON error with a
 * reference; details go to the log only, never to the response. The reference is the request's
 * (X-Request-Id); the log lines carry it as `ref`. Errors are logged raw, once: the logger's `err`
 * serializer keeps class, message, stack and codes, and leaves out what they may carry.
 */
export function errorBoundary(pages: PageRenderer, logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      // oidc-provider handles its own errors; a store outage inside it surfaces as a server_error.
      if (ctx.status === 500 && isStoreFailure(ctx.state.serverError)) storeUnavailable(ctx, pages);
      else if (ctx.status === 404 && ctx.body === undefined) {
        if (isPage(ctx) || ctx.accepts('html', 'json') === 'html') {
          pages.error(ctx, localeOf(ctx), { status: 404, messageKey: 'error.not_found', showBack: false });
        } else {
          ctx.status = 404;
          ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
        }
      }
    } catch (err) {
      const locale = localeOf(ctx);
      const path = loggablePath(ctx.path);
      if (isStoreFailure(err)) {
        logger.warn({ err, path }, 'store unavailable');
        storeUnavailable(ctx, pages);
        return;
      }
      if (err instanceof oidcErrors.SessionNotFound || err instanceof oidcErrors.InvalidRequest) {
        logger.info({ err, path }, 'interaction not found for this browser');
        pages.error(ctx, locale, { status: 400, messageKey: 'error.session_expired' });
        return;
      }
      if (err instanceof Refusal) {
        logger.info({ reason: err.code, err, path }, 'interaction refused');
        pages.error(ctx, locale, { status: 400, messageKey: err.messageKey });
        return;
      }
      const status = (err as { status?: unknown }).status;
      const expose = (err as { expose?: unknown }).expose === true;
      if (typeof status === 'number' && status >= 400 && status < 500 && expose) {
        logger.info({ err, path }, 'bad request');
        if (isPage(ctx)) pages.error(ctx, locale, { status, messageKey: status === 404 ? 'error.not_found' : 'error.bad_request' });
        else {
          ctx.status = status;
          ctx.body = { error: 'invalid_request', error_description: 'the request was not valid' };
        }
        return;
      }
      const reference = requestIdOf(ctx);
      logger.error({ err, ref: reference, path }, 'unexpected error');
      if (isPage(ctx)) pages.error(ctx, locale, { status: 500, messageKey: 'error.server', reference });
      else {
        ctx.status = 500;
        ctx.body = { error: 'server_error', error_description: `unexpected error (reference ${reference})` };
      }
    }
  };
}
