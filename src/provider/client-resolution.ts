import { AsyncLocalStorage } from 'node:async_hooks';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Client } from 'oidc-provider';

/**
 * Which services exist for this environment's provider. The lifecycle is enforced where
 * oidc-provider resolves a client (`Client.find`), not in front of particular URLs: every endpoint
 * and every spelling of it (`/AUTH`, `/auth/`, HEAD, POST, the resume route, PAR, token, userinfo,
 * introspection, revocation, logout, back-channel logout) sees the same answer. A service that is not
 * allowed here does not exist here: /auth answers `invalid_client` on our error page without
 * redirecting anywhere, and the token endpoint refuses its credentials.
 *
 * The one exception is RFC 7592 management of the registration itself, which a service may read,
 * update (changes held for review where the lifecycle requires it) and delete in any state.
 */

/** The request being served, so that `Client.find` (which gets only an id) knows its route. */
const currentRequest = new AsyncLocalStorage<{ oidc?: { route?: string } }>();

/** Runs the provider's middleware with the request available to client resolution. */
export function withRequestContext(middleware: Middleware): Middleware {
  return (ctx, next) => currentRequest.run(ctx as { oidc?: { route?: string } }, () => middleware(ctx, next));
}

const MANAGEMENT_ROUTES = new Set(['registration', 'client', 'client_update', 'client_delete']);

function currentRoute(): string | undefined {
  try {
    return currentRequest.getStore()?.oidc?.route;
  } catch {
    return undefined;
  }
}

/** Replaces the provider's client lookup with one that hides services not allowed in this environment. */
export function enforceClientLifecycle(provider: Provider, isAllowed: (clientId: string) => Promise<boolean>): void {
  const model = provider.Client as unknown as { find(id: unknown): Promise<Client | undefined> };
  const find = model.find.bind(model);
  model.find = async (id: unknown) => {
    const route = currentRoute();
    if (route !== undefined && MANAGEMENT_ROUTES.has(route)) return find(id);
    if (typeof id !== 'string') return undefined;
    // Both reads leave together: with the store's pipelining, one round trip instead of two.
    const [client, allowed] = await Promise.all([find(id), isAllowed(id)]);
    return client && allowed ? client : undefined;
  };
}
