import type { Middleware } from 'koa';

/**
 * No framing anywhere (clickjacking of login pages), no referrers (URLs carry codes and state).
 * CSP has no form-action: a login ends with redirects to services' own origins. It is set before the
 * provider runs so oidc-provider can add the hash of its own form_post script. Images may come from
 * any https origin: directories' logos in the chooser are hosted by their education providers.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
    if (ctx.response.is('html')) ctx.set('Cache-Control', 'no-store');
  };
}
