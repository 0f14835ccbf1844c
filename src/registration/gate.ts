import type { Middleware } from 'koa';
import type { Environment, ClientRegistry } from '../provider/client-policy.js';
import { localeOf, type PageRenderer } from '../interaction/pages.js';
import type { Logger } from '../observability/logger.js';

/**
 * In front of the provider's authorization endpoint: a service not allowed in this environment
 * (pending in production, not published to demo, rejected, suspended) gets our error page, 400,
 * and the browser is NOT redirected to the service. (Inside oidc-provider, an error raised after
 * the redirect URI is validated would be sent to the service instead.)
 *
 * Only GET reaches the authorization endpoint: oidc-provider serves POST /auth only with
 * `enableHttpPostMethods`, which the bridge leaves off. Resuming (/auth/<uid>) needs no check: the
 * interaction began at a checked /auth, and token issuance is checked again in findAccount.
 */
export function clientGate(registry: ClientRegistry, environment: Environment, pages: PageRenderer, logger: Logger): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/auth' || ctx.method !== 'GET') return next();
    const clientId: unknown = ctx.query.client_id;
    if (typeof clientId === 'string' && clientId !== '' && !(await registry.isAllowed(clientId, environment))) {
      logger.info({ clientId, environment }, 'authorization refused: service not enabled in this environment');
      pages.error(ctx, localeOf(ctx), { status: 400, messageKey: 'error.oidc', showBack: false, extra: { detail: 'unauthorized_client' } });
      return;
    }
    await next();
  };
}

/**
 * Around the provider's registration endpoints: a service that registered (201) gets a lifecycle
 * record (pending), one that deleted its registration (RFC 7592, 204) is marked deleted. Awaited
 * before the response goes out, so the operators see the service as soon as the service sees its id.
 */
export function registrationHooks(registry: ClientRegistry): Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/reg')) return next();
    await next();
    if (ctx.method === 'POST' && ctx.path === '/reg' && ctx.status === 201) {
      const clientId = (ctx.body as { client_id?: unknown } | undefined)?.client_id;
      if (typeof clientId === 'string') await registry.registered(clientId);
    } else if (ctx.method === 'DELETE' && ctx.status === 204) {
      const clientId = decodeURIComponent(ctx.path.slice('/reg/'.length));
      if (clientId) await registry.deleted(clientId);
    }
  };
}
