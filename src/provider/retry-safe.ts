import type { Middleware } from 'koa';
import { isStoreFailure } from '../http/errors.js';
import { retrySafeRequest } from '../storage/index.js';

/**
 * Wraps the provider's middleware so that a request the store fails under spends no one-time state
 * (an interaction, an authorization code): the browser's reload of the 503 page or the service's
 * repeated token request can succeed (see `retrySafeRequest` in src/storage/adapter.ts).
 * oidc-provider handles its own errors and records a server error in `ctx.state.serverError`.
 */
export function retrySafe(middleware: Middleware): Middleware {
  return (ctx, next) =>
    retrySafeRequest(
      async () => {
        await middleware(ctx, next);
      },
      () => isStoreFailure(ctx.state.serverError),
    );
}
