import { createHmac, randomBytes } from 'node:crypto';
import Provider, { type Configuration, type ClientMetadata, type Interaction, type KoaContextWithOIDC } from 'oidc-provider';
import type { BridgeConfig } from '../config/schema.js';
import type { BridgeSecrets } from '../config/secrets.js';
import type { AccountStore } from '../accounts/accounts.js';
import { PROFILE_CLAIMS } from '../claims/claim-names.js';
import type { AdapterFactory } from '../storage/types.js';
import type { Logger } from '../observability/logger.js';
import { authnSourceAcr } from './acr.js';
import { cookieSigner } from '../http/cookie-signer.js';
import { basePathOf } from '../http/base-path.js';
import type { PageRenderer } from '../http/pages.js';
import type { ServiceRegistry } from '../services/registry.js';
import type { DirectoryCatalogue } from '../directories/catalogue.js';
import { EXTRA_CLIENT_METADATA } from '../services/registration-rules.js';
import { registrationPolicy } from '../services/registration-policy.js';
import { REGISTRATION_POLICY, type InitialAccessTokens } from '../services/initial-access.js';
import { enforceClientLifecycle } from './client-resolution.js';
import { accountFinder, issuedAt } from './find-account.js';
import { interactionPolicyFor } from './interaction-policy.js';
import { lifetimes, type RefreshCapable } from './lifetimes.js';
import type { ReleaseGate } from './release-gate.js';

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
  /**
   * Where a new interaction sends the browser when that needs no page of ours (a service that names
   * the school directory): undefined for the interaction's page.
   */
  directStart?: (ctx: KoaContextWithOIDC, interaction: Interaction) => Promise<string | undefined>;
  initialAccessTokens: InitialAccessTokens;
}

/** The provider's cookies, per environment: environments served on one host keep their sessions apart in one browser. */
export function providerCookieNames(environment: string) {
  return { session: `mpass_${environment}_session`, interaction: `mpass_${environment}_interaction`, resume: `mpass_${environment}_resume` };
}

/** Outbound calls of the provider (back-channel logout, client JWKS) never wait longer than this. */
const OUTBOUND_TIMEOUT_MS = 5_000;

/**
 * The ID-token algorithm of a service that does not name one: ES256 when the signing keys have an EC
 * P-256 key (signing with it costs a fraction of an RSA signature, the largest cryptographic cost of
 * a login), else RS256, so a deployment whose JWKS file predates ES256 keeps working unchanged.
 * Services that ask for RS256 (at registration, or in a record saved before this default changed, as
 * oidc-provider stores the resolved metadata) keep it: discovery lists every algorithm of the keys.
 */
function defaultIdTokenAlg(jwks: BridgeSecrets['jwks']): 'ES256' | 'RS256' {
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
    findAccount: accountFinder(accounts, deps.release),
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
      url: async (ctx, interaction) => (await deps.directStart?.(ctx, interaction)) ?? `${basePathOf(config.issuer)}/interaction/${interaction.uid}`,
      policy: interactionPolicyFor(deps.catalogue),
    },
    cookies: {
      keys: cookieSigner(secrets.cookieKeys) as unknown as string[],
      long: cookieOptions,
      short: cookieOptions,
      // Per environment: environments served on one host keep their sessions apart in one browser.
      names: providerCookieNames(environment),
    },
    ttl: lifetimes(config),
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
