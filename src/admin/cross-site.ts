import type { Context } from 'koa';
import { ApiError } from './request.js';

/**
 * Refuses state-changing admin calls a browser could be made to send from another site (CSRF):
 * a page elsewhere can POST a form or text/plain without a preflight, and a browser that has
 * credentials for the admin API would attach them. Such a page cannot send `application/json`
 * cross-origin without a CORS preflight (which this API never grants), and browsers name the
 * requesting site in `Origin` and `Sec-Fetch-Site`. API clients and the CLI send neither header.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The media type of the request without parameters (`application/json; charset=utf-8` → `application/json`). */
function mediaType(ctx: Context): string {
  return (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
}

/** Throws 403 for a cross-site caller and 415 for a body that is not declared JSON (even an empty one). */
export function refuseCrossSite(ctx: Context, ownOrigins: readonly string[]): void {
  if (SAFE_METHODS.has(ctx.method)) return;
  const site = ctx.get('sec-fetch-site').toLowerCase();
  if (site === 'cross-site' || site === 'same-site') {
    throw new ApiError(403, 'cross_site_request', `admin calls from another site are refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = ctx.get('origin');
  // Built from protocol and host: Koa 3's ctx.origin echoes the Origin header itself.
  if (origin && origin !== `${ctx.protocol}://${ctx.host}` && !ownOrigins.includes(origin)) {
    throw new ApiError(403, 'cross_site_request', 'admin calls from another origin are refused (Origin is not this bridge)');
  }
  if (mediaType(ctx) !== 'application/json') {
    throw new ApiError(415, 'unsupported_media_type', 'send Content-Type: application/json (also with an empty body)');
  }
}
