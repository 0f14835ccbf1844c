import type { KoaContextWithOIDC } from 'oidc-provider';
import type { BridgeConfig } from '../config/schema.js';

/** What the lifetime rules need of a client. */
export interface RefreshCapable {
  grantTypeAllowed(type: string): boolean;
}

const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/** How long each of oidc-provider's objects lives (the `ttl` configuration). */
export function lifetimes(config: BridgeConfig) {
  return {
    // Absolute, for shared classroom devices: a login gives the session `sessionSeconds`, and every
    // later save (SSO to another service, logout state) keeps that expiry instead of sliding it.
    // oidc-provider refuses a stored session past its `exp`, whatever the store still holds.
    Session: (ctx: KoaContextWithOIDC, session: { exp?: number | undefined }) =>
      ctx.oidc?.result?.login || typeof session.exp !== 'number' ? config.ttl.sessionSeconds : Math.max(1, session.exp - epochSeconds()),
    // A grant lives as long as the refresh tokens of a service that may have them (plus the time a
    // code may wait for redemption, so the first refresh token gets its whole lifetime). The client
    // is the argument: our interaction routes save grants outside any oidc-provider request.
    Grant: ((ctx: KoaContextWithOIDC | undefined, _grant: unknown, client?: RefreshCapable) =>
      (client ?? ctx?.oidc?.client)?.grantTypeAllowed('refresh_token')
        ? Math.max(config.ttl.grantSeconds, config.ttl.refreshTokenSeconds + config.ttl.authorizationCodeSeconds)
        : config.ttl.grantSeconds) as (ctx: KoaContextWithOIDC, grant: unknown) => number,
    // A school day from the login, not from each use: a rotated token's successor keeps the time
    // its predecessor had left, and no refresh token outlives its grant (a grant's expiry is fixed
    // at its first save, and an SSO login may issue a new refresh token late in it).
    RefreshToken: (ctx: KoaContextWithOIDC) => {
      const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
      if (rotated) return Math.max(1, rotated.remainingTTL);
      const grantExp = ctx?.oidc?.entities.Grant?.exp;
      const grantLeft = typeof grantExp === 'number' ? grantExp - epochSeconds() : Infinity;
      return Math.max(1, Math.min(config.ttl.refreshTokenSeconds, grantLeft));
    },
    Interaction: config.ttl.interactionSeconds,
    AuthorizationCode: config.ttl.authorizationCodeSeconds,
    AccessToken: config.ttl.accessTokenSeconds,
    IdToken: config.ttl.idTokenSeconds,
  };
}
