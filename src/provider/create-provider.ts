import { createHmac, randomBytes } from 'node:crypto';
import Provider, { errors, interactionPolicy, type Configuration, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import type { BridgeConfig } from '../config/schema.js';
import type { BridgeSecrets } from '../config/secrets.js';
import type { AccountStore } from '../accounts/accounts.js';
import { PROFILE_CLAIMS } from '../claims/claim-names.js';
import type { AdapterFactory } from '../storage/types.js';
import type { Logger } from '../observability/logger.js';
import { authnSourceAcr, requestedAuthnSource } from './acr.js';
import { cookieSigner } from '../http/cookie-signer.js';
import { basePathOf } from '../http/base-path.js';
import type { PageRenderer } from '../http/pages.js';
import type { ServiceRegistry } from '../services/registry.js';
import type { DirectoryCatalogue } from '../directories/catalogue.js';
import { EXTRA_CLIENT_METADATA } from '../services/registration-rules.js';
import { registrationPolicy } from '../services/registration-policy.js';
import { REGISTRATION_POLICY, type InitialAccessTokens } from '../services/initial-access.js';
import { enforceClientLifecycle } from './client-resolution.js';
import type { ReleaseGate } from './release-gate.js';
import type { ReleaseRefusal } from '../services/release.js';
import type { MpassClaims } from '../claims/claim-names.js';

export interface ProviderDependencies {
  config: BridgeConfig;
  secrets: BridgeSecrets;
  adapter: AdapterFactory;
  accounts: AccountStore;
  catalogue: DirectoryCatalogue;
  clients: ClientMetadata[];
  pages: PageRenderer;
  logger: Logger;
  /** Lifecycle and operator settings of every service (refresh tokens, introspection). */
  registry: ServiceRegistry;
  /** What a service may receive of a user (services/release.ts). */
  release: ReleaseGate;
  initialAccessTokens: InitialAccessTokens;
}

/**
 * The default prompts, plus: a service that names a directory with acr_values gets a user who signed
 * in at that directory, even when an SSO session from another directory exists; and a session whose
 * account snapshot is gone signs in anew.
 */
function interactionPolicyFor(catalogue: DirectoryCatalogue): interactionPolicy.DefaultPolicy {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy.get('login')!.checks.add(
    new Check('authnsource', 'the requested school directory differs from the session', (ctx) => {
      const requested = requestedAuthnSource(ctx.oidc.params?.acr_values);
      if (!requested || !catalogue.isKnown(requested) || !ctx.oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
      return ctx.oidc.session.acr === authnSourceAcr(requested) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  // findAccount found no snapshot for the session's user (it expired or was removed): without this
  // check oidc-provider goes on to the consent checks without an account or grant and fails with a
  // 500. The user's claims exist only from a directory login, so the answer is a new login.
  policy
    .get('login')!
    .checks.add(
      new Check('account_unavailable', "the session's user information is no longer available", 'login_required', (ctx) =>
        ctx.oidc.session?.accountId && !ctx.oidc.account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
      ),
    );
  return policy;
}

/** When the grant behind a token began: a rotated refresh token keeps the first one's time. */
function issuedAt(token: unknown): number | undefined {
  const { iiat, iat } = (token ?? {}) as { iiat?: unknown; iat?: unknown };
  if (typeof iiat === 'number') return iiat;
  return typeof iat === 'number' ? iat : undefined;
}

/** The account oidc-provider reads: `sub` and the claims released to the service asking. */
function accountWith(sub: string, claims: MpassClaims) {
  return {
    accountId: sub,
    async claims() {
      return { sub, ...claims };
    },
  };
}

/** Refusals that concern this user rather than the service: the interaction explains them with a page. */
const USER_REFUSALS: ReadonlySet<ReleaseRefusal> = new Set(['directory_not_in_use', 'service_not_allowed', 'test_learner_id']);

/** The token endpoint's answer to a refusal: the service learns why, in OAuth terms. */
function tokenRefusal(reason: ReleaseRefusal): Error {
  switch (reason) {
    case 'service_not_allowed_here':
      return new errors.UnauthorizedClient('the service is not enabled in this MPASSid environment');
    case 'token_revoked':
      return new errors.InvalidGrant('the grant was revoked when the service was suspended');
    case 'directory_not_in_use':
      return new errors.InvalidGrant("the user's school directory is no longer in use");
    case 'service_not_allowed':
      return new errors.InvalidGrant("the user's school does not allow this service");
    case 'test_learner_id':
      return new errors.InvalidGrant('the service does not accept test learner numbers');
  }
}

/** What the lifetime rules need of a client. */
interface RefreshCapable {
  grantTypeAllowed(type: string): boolean;
}

const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/** Outbound calls of the provider (back-channel logout, client JWKS) never wait longer than this. */
const OUTBOUND_TIMEOUT_MS = 5_000;

/**
 * The ID-token algorithm of a service that does not name one: ES256 when the signing keys have an EC
 * P-256 key (signing with it costs a fraction of an RSA signature, the largest cryptographic cost of
 * a login), else RS256, so a deployment whose JWKS file predates ES256 keeps working unchanged.
 * Services that ask for RS256 (at registration, or in a record saved before this default changed, as
 * oidc-provider stores the resolved metadata) keep it: discovery lists every algorithm of the keys.
 */
export function defaultIdTokenAlg(jwks: BridgeSecrets['jwks']): 'ES256' | 'RS256' {
  return jwks.keys.some((key) => key.kty === 'EC' && (key as { crv?: unknown }).crv === 'P-256' && (key.alg === undefined || key.alg === 'ES256'))
    ? 'ES256'
    : 'RS256';
}

/**
 * The downstream OpenID Provider: what services see. Everything here is configuration of
 * oidc-provider; the login itself happens in our interaction routes.
 */
export function createProvider(deps: ProviderDependencies): Provider {
  const { config, secrets, accounts, pages, registry } = deps;
  const environment = config.environment;

  /*
   * Lifecycle enforcement (which services may sign users in, in this deployment's environment):
   *  - everywhere: a service not allowed here does not exist for the provider (client-resolution.ts),
   *    whatever endpoint or spelling of it is used: /auth shows our error page and never redirects
   *    to the service, its credentials are refused at token, introspection and revocation;
   *  - tokens, userinfo (also for tokens found without client authentication): findAccount below
   *    re-reads the service's lifecycle each time: a token request fails with unauthorized_client,
   *    a userinfo call with invalid_token, from the moment an operator suspends the service;
   *  - introspection: allowedPolicy answers `active: false` for tokens of such a service.
   * Suspension (and rejection) also revokes for good every code and token the service held: findAccount
   * and the introspection policy compare their issue time with the moment of the suspension.
   */
  async function clientAllowed(clientId: string | undefined): Promise<boolean> {
    return clientId !== undefined && registry.isAllowed(clientId, environment);
  }
  async function refreshTokensFor(client: RefreshCapable & { clientId: string }): Promise<boolean> {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    return (await registry.get(client.clientId))?.settings.refreshTokens === true;
  }
  const secure = config.issuer.startsWith('https://');
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure, signed: true };

  const configuration: Configuration = {
    adapter: deps.adapter,
    clients: deps.clients,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: defaultIdTokenAlg(secrets.jwks),
      subject_type: 'pairwise',
      // auth_time in every ID token: services of shared classroom devices check how fresh a login is.
      require_auth_time: true,
    },
    // Pairwise by default: services cannot correlate a child across each other.
    subjectTypes: ['public', 'pairwise'],
    pairwiseIdentifier(_ctx, accountId, client) {
      return createHmac('sha256', secrets.subjectSalt)
        .update(`pairwise\0${client.sectorIdentifier ?? client.clientId}\0${accountId}`)
        .digest('base64url');
    },
    async findAccount(ctx, sub, token) {
      const snapshot = await accounts.find(sub);
      if (!snapshot) return undefined;
      const clientId = ctx.oidc?.client?.clientId ?? (token as { clientId?: string } | undefined)?.clientId;
      // Without a service (a session read on its own) nothing beyond `sub` is released.
      if (clientId === undefined) return accountWith(sub, {});
      const decision = await deps.release.decide(snapshot, clientId, token === undefined ? undefined : { issuedAt: issuedAt(token) });
      if (decision.released) return accountWith(sub, decision.claims);
      const route = ctx.oidc?.route;
      if (route === 'token') throw tokenRefusal(decision.reason);
      // With a user at the browser, the interaction asks the same question and shows them why;
      // a user refused because of the service itself meets the service's absence first.
      if ((route === 'authorization' || route === 'resume') && USER_REFUSALS.has(decision.reason)) return accountWith(sub, {});
      return undefined;
    },
    extraClientMetadata: { properties: [...EXTRA_CLIENT_METADATA] },
    claims: { openid: ['sub'], profile: [...PROFILE_CLAIMS] },
    scopes: ['openid', 'profile'],
    // The MPASSid claims belong in the ID token too, not only at userinfo.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    pkce: { required: () => true },
    // Discovery lists the configured directories; operator-managed ones are accepted as well.
    // oidc-provider drops the acr claim altogether when this list is empty (a deployment whose
    // directories are all operator-managed), so it is never empty; discovery lists the directories
    // of the moment (see directoryAcrValues).
    acrValues: deps.catalogue.staticIds().length ? deps.catalogue.staticIds().map(authnSourceAcr) : [authnSourceAcr('any')],
    features: {
      devInteractions: { enabled: false },
      introspection: {
        enabled: true,
        async allowedPolicy(ctx, client, token) {
          // A public client may introspect only its own tokens (oidc-provider's default rule).
          if (client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client?.clientId) return false;
          // Neither a caller nor a token of a service that is not allowed here (e.g. suspended) is served.
          if (!(await clientAllowed(client.clientId)) || !(await clientAllowed(token.clientId))) return false;
          return !(await registry.tokenRevoked(token.clientId!, issuedAt(token)));
        },
      },
      registration: {
        enabled: true,
        // Only operators issue initial access tokens (admin API); each carries the MPASSid policy.
        initialAccessToken: true,
        // Hex client ids: a base64url id may begin with '-', which command lines take for an option.
        idFactory: () => randomBytes(24).toString('hex'),
        policies: {
          [REGISTRATION_POLICY]: registrationPolicy({
            registry,
            initialAccessTokens: deps.initialAccessTokens,
            environment,
            allowLoopbackBackchannel: config.outbound.allowLoopback,
          }),
        },
      },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          pages.logout(ctx, form);
        },
        async postLogoutSuccessSource(ctx) {
          pages.logoutDone(ctx);
        },
      },
    },
    interactions: {
      url: (_ctx, interaction) => `${basePathOf(config.issuer)}/interaction/${interaction.uid}`,
      policy: interactionPolicyFor(deps.catalogue),
    },
    cookies: {
      keys: cookieSigner(secrets.cookieKeys) as unknown as string[],
      long: cookieOptions,
      short: cookieOptions,
      // Per environment: environments served on one host keep their sessions apart in one browser.
      names: { session: `mpass_${environment}_session`, interaction: `mpass_${environment}_interaction`, resume: `mpass_${environment}_resume` },
    },
    ttl: {
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
    },
    // Refresh tokens only for a service that registered the grant type and that operators allowed them.
    async issueRefreshToken(_ctx, client) {
      return refreshTokensFor(client);
    },
    // Rotated on every use (docs/onboarding.md); presenting a used one again revokes the whole grant
    // (oidc-provider's refresh_token grant), as the OAuth security BCP asks.
    rotateRefreshToken: true,
    // Tokens end with the SSO session, except those of a service allowed refresh tokens: those are
    // meant to outlast the (short) session for the school day, and so also survive a logout.
    async expiresWithSession(ctx) {
      return !(await refreshTokensFor(ctx.oidc.client!));
    },
    jwks: secrets.jwks as Configuration['jwks'],
    clientBasedCORS(_ctx, origin, client) {
      return client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false;
    },
    fetch: (url, options) => {
      // oidc-provider hands over a dispatcher that refuses special-use addresses (its SSRF guard);
      // only an explicit non-production setting lets tests deliver to loopback.
      const { dispatcher: _guard, ...unguarded } = options as typeof options & { dispatcher?: unknown };
      const request = config.outbound.allowLoopback ? unguarded : options;
      return globalThis.fetch(url, { ...request, signal: AbortSignal.timeout(OUTBOUND_TIMEOUT_MS) });
    },
    fetchResponseBodyLimits: { jwks_uri: 64 * 1024, sector_identifier_uri: 16 * 1024 },
    async renderError(ctx, out, error) {
      pages.oidcError(ctx, out, error);
    },
  } as Configuration;

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  enforceClientLifecycle(provider, (clientId) => registry.isAllowed(clientId, environment));

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    ctx.state.serverError = err;
    deps.logger.error({ err, route: ctx.oidc?.route }, 'provider server error');
  });
  provider.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId?: string } | undefined) => {
    deps.logger.warn({ err, clientId: client?.clientId }, 'back-channel logout not delivered');
  });
  for (const event of ['authorization.error', 'grant.error', 'introspection.error', 'revocation.error', 'userinfo.error', 'end_session.error']) {
    (provider as unknown as NodeJS.EventEmitter).on(event, (_ctx: unknown, err: Error) => {
      deps.logger.info({ err, event }, 'oidc request refused');
    });
  }
  return provider;
}
