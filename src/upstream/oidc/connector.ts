import type { DirectoryAccounts } from '../../config/schema.js';
import * as client from 'openid-client';
import { resolveMapping } from '../../claims/attributes.js';
import type { UpstreamClaimsProfile } from '../../claims/evaluate.js';
import type { UpstreamConfig } from '../../config/schema.js';
import { UpstreamError, type UpstreamErrorCode } from '../errors.js';
import type { BeginOptions, DirectoryListing, UpstreamConnector, UpstreamIdentity, UpstreamTransaction } from '../types.js';

export interface OidcConnectorOptions {
  timeoutMs: number;
  clockToleranceSeconds: number;
  /** Plain-http directories are only accepted outside production (the bundled test directory). */
  allowHttp: boolean;
}

/** ID-token claims that describe the token, not the user: never part of the attribute bag. */
const PROTOCOL_CLAIMS = new Set([
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'at_hash', 'c_hash', 's_hash',
  'auth_time', 'azp', 'sid', 'acr', 'amr',
]);

/** How long a failed discovery is remembered, so a dead directory is not hammered by every login. */
const DISCOVERY_RETRY_MS = 5_000;

/** Maps whatever openid-client or fetch threw onto one of our stable codes. */
export function classifyUpstreamFailure(err: unknown): UpstreamErrorCode {
  if (err instanceof UpstreamError) return err.code;
  if (err instanceof client.AuthorizationResponseError) return 'upstream_denied';
  const chain: unknown[] = [];
  for (let e: unknown = err; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  if (chain.some((e) => e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError' || (e as { code?: unknown }).code === 'OAUTH_TIMEOUT'))) {
    return 'upstream_timeout';
  }
  if (err instanceof client.ResponseBodyError) return err.status >= 500 ? 'upstream_unavailable' : 'upstream_invalid_response';
  const response = chain.find((e): e is Response => e instanceof Response);
  if (response && response.status >= 500) return 'upstream_unavailable';
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return 'upstream_unavailable';
  if (chain.some((e) => (e as { code?: unknown }).code === 'ECONNREFUSED' || (e as { code?: unknown }).code === 'ECONNRESET')) {
    return 'upstream_unavailable';
  }
  return 'upstream_invalid_response';
}

function toUpstreamError(err: unknown, what: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  return new UpstreamError(classifyUpstreamFailure(err), `${what} failed`, { cause: err });
}

/**
 * An OpenID Connect school directory: authorization code flow with PKCE S256, state and nonce,
 * an exact per-directory callback (mix-up defence) and a bounded time for every call.
 */
export class OidcConnector implements UpstreamConnector {
  readonly id: string;
  readonly displayName: UpstreamConfig['displayName'];
  readonly accounts: DirectoryAccounts;
  readonly profile: UpstreamClaimsProfile;
  readonly listing: DirectoryListing;
  private configuration: Promise<client.Configuration> | undefined;
  private discoveryFailedAt = 0;

  constructor(
    private readonly config: UpstreamConfig & { clientSecret: string },
    private readonly options: OidcConnectorOptions,
  ) {
    this.id = config.id;
    this.displayName = config.displayName;
    this.accounts = config.testOnly ? 'test' : config.accounts;
    const schools = (config.schools ?? []).map((school) => (typeof school === 'string' ? { id: school } : school));
    this.listing = {
      id: config.id,
      displayName: config.displayName,
      issuer: config.issuer,
      schools,
      ...(config.logoUri ? { logoUri: config.logoUri } : {}),
      ...(config.provider ? { provider: config.provider } : {}),
    };
    this.profile = {
      mapping: resolveMapping(config.attributeMapping),
      originalIssuer: config.originalIssuer ?? config.issuer,
      ...(config.schools ? { schools: new Set(schools.map((school) => school.id)) } : {}),
      ...(config.allowedClients ? { allowedClients: new Set(config.allowedClients) } : {}),
    };
  }

  private discover(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    if (Date.now() - this.discoveryFailedAt < DISCOVERY_RETRY_MS) {
      return Promise.reject(new UpstreamError('upstream_unavailable', 'directory discovery failed recently'));
    }
    const timeout = this.options.timeoutMs / 1000;
    const insecure = this.options.allowHttp && this.config.issuer.startsWith('http:');
    const pending = client
      .discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        { [client.clockTolerance]: this.options.clockToleranceSeconds },
        this.config.tokenEndpointAuthMethod === 'client_secret_post'
          ? client.ClientSecretPost(this.config.clientSecret)
          : client.ClientSecretBasic(this.config.clientSecret),
        {
          timeout,
          // Directory ID tokens are verified against its JWKS even though they come straight from its
          // token endpoint: a forged or re-signed token is refused, not trusted for arriving over TLS.
          execute: insecure ? [client.allowInsecureRequests, client.enableNonRepudiationChecks] : [client.enableNonRepudiationChecks],
        },
      )
      .then((configuration) => {
        configuration.timeout = timeout;
        return configuration;
      });
    this.configuration = pending;
    pending.catch(() => {
      // Forget the failure after a short pause so the directory is retried once it is back.
      if (this.configuration === pending) this.configuration = undefined;
      this.discoveryFailedAt = Date.now();
    });
    return pending.catch((err: unknown) => {
      throw toUpstreamError(err, 'directory discovery');
    });
  }

  async begin(options: BeginOptions): Promise<{ url: URL; transaction: UpstreamTransaction }> {
    const configuration = await this.discover();
    const transaction: UpstreamTransaction = {
      upstreamId: this.id,
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      redirectUri: options.redirectUri,
      startedAt: Math.floor(Date.now() / 1000),
      forceLogin: options.forceLogin === true,
      ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}),
    };
    const params: Record<string, string> = {
      redirect_uri: transaction.redirectUri,
      response_type: 'code',
      scope: this.config.scope,
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (transaction.forceLogin) params.prompt = 'login';
    if (transaction.maxAge !== undefined) params.max_age = String(transaction.maxAge);
    if (options.uiLocales) params.ui_locales = options.uiLocales;
    return { url: client.buildAuthorizationUrl(configuration, params), transaction };
  }

  async complete(callbackUrl: URL, transaction: UpstreamTransaction): Promise<UpstreamIdentity> {
    if (transaction.upstreamId !== this.id) {
      throw new UpstreamError('upstream_transaction_invalid', 'callback reached another directory than the one started');
    }
    const configuration = await this.discover();
    let claims: client.IDToken;
    let userinfo: Record<string, unknown> = {};
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
        ...(transaction.maxAge !== undefined ? { maxAge: transaction.maxAge } : {}),
      });
      const idTokenClaims = tokens.claims();
      if (!idTokenClaims) throw new UpstreamError('upstream_invalid_response', 'no ID token in the token response');
      claims = idTokenClaims;
      // openid-client checks that userinfo describes the same subject as the ID token.
      if (this.config.userinfo) userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idTokenClaims.sub);
    } catch (err) {
      throw toUpstreamError(err, 'directory token exchange');
    }
    const now = Math.floor(Date.now() / 1000);
    const authTime = typeof claims.auth_time === 'number' && claims.auth_time <= now + this.options.clockToleranceSeconds
      ? Math.min(claims.auth_time, now)
      : now;
    if (transaction.forceLogin && authTime + this.options.clockToleranceSeconds < transaction.startedAt) {
      throw new UpstreamError('upstream_invalid_response', 'the directory did not re-authenticate the user as asked');
    }
    const attributes: Record<string, unknown> = {};
    for (const [name, value] of Object.entries({ ...userinfo, ...claims })) {
      if (!PROTOCOL_CLAIMS.has(name)) attributes[name] = value;
    }
    return { upstreamId: this.id, issuer: claims.iss, subject: claims.sub, authTime, attributes };
  }
}
