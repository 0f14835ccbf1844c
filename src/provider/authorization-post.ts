import type { Middleware } from 'koa';
import { readFormText } from '../http/form.js';

const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * OIDC Core 3.1.2.1: the authorization endpoint accepts POST (form-encoded) as well as GET.
 * oidc-provider serves POST only with session cookies of SameSite=None, which http deployments
 * (development, tests) cannot set; so a POST to the authorization endpoint is handed to the
 * provider as the equivalent GET, its form body as the query (the provider then checks duplicate
 * and unknown parameters as for any GET). The path is matched the way the provider's router does
 * (any letter case, an optional trailing slash). This is no security gate: which services exist is
 * decided in client resolution, whatever the method.
 */
export function authorizationPost(authorizationPath = '/auth'): Middleware {
  const route = authorizationPath.toLowerCase();
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path.toLowerCase().replace(/\/$/, '') !== route) return next();
    const query = await readFormText(ctx, BODY_LIMIT_BYTES);
    ctx.method = 'GET';
    ctx.querystring = query;
    await next();
  };
}
