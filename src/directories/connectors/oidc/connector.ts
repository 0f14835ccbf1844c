import * as client from 'openid-client';
import type { ConnectorOptions } from '../options.js';
import { pooledFetch } from './pooled-fetch.js';
import { DirectoryError, type DirectoryErrorCode } from '../../errors.js';
import type { BeginRequest, BeginResult, CallbackRequest, DirectoryConnector, DirectoryIdentity, DirectoryTransaction } from '../types.js';

/** The settings this connector reads (a directory definition of type oidc). */
export interface OidcDirectorySettings {
  id: string;
  issuer: string;
  clientId: string;
  scope: string;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post';
  userinfo: boolean;
}

/** What the connector keeps between the redirect and the callback. */
interface OidcState {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** ID-token claims that describe the token, not the user: never part of the attribute bag. */
const PROTOCOL_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'auth_time',
  'azp',
  'sid',
  'acr',
  'amr',
]);

/** How long a failed discovery is remembered, so a dead directory is not hammered by every login. */
const DISCOVERY_RETRY_MS = 5_000;

/** Maps whatever openid-client or fetch threw onto one of our stable codes. */
export function classifyDirectoryFailure(err: unknown): DirectoryErrorCode {
  if (err instanceof DirectoryError) return err.code;
  if (err instanceof client.AuthorizationResponseError) return 'directory_denied';
  const chain: unknown[] = [];
  for (let e: unknown = err; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  if (chain.some((e) => e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError' || (e as { code?: unknown }).code === 'OAUTH_TIMEOUT'))) {
    return 'directory_timeout';
  }
  if (err instanceof client.ResponseBodyError) return err.status >= 500 ? 'directory_unavailable' : 'directory_invalid_response';
  const response = chain.find((e): e is Response => e instanceof Response);
  if (response && response.status >= 500) return 'directory_unavailable';
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return 'directory_unavailable';
  if (chain.some((e) => (e as { code?: unknown }).code === 'ECONNREFUSED' || (e as { code?: unknown }).code === 'ECONNRESET')) {
    return 'directory_unavailable';
  }
  return 'directory_invalid_response';
}

function toDirectoryError(err: unknown, what: string): DirectoryError {
  if (err instanceof DirectoryError) return err;
  return new DirectoryError(classifyDirectoryFailure(err), `${what} failed`, { cause: err });
}

/**
 * An OpenID Connect school directory: authorization code flow with PKCE S256, state and nonce,
 * an exact per-directory callback (mix-up defence) and a bounded time for every call.
 */
export class OidcConnector implements DirectoryConnector {
  readonly id: string;
  readonly callbackMethod = 'GET' as const;
  private configuration: Promise<client.Configuration> | undefined;
  private discoveryFailedAt = 0;

  constructor(
    private readonly config: OidcDirectorySettings,
    private readonly clientSecret: string,
    private readonly options: ConnectorOptions,
  ) {
    this.id = config.id;
  }

  private discover(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    if (Date.now() - this.discoveryFailedAt < DISCOVERY_RETRY_MS) {
      return Promise.reject(new DirectoryError('directory_unavailable', 'directory discovery failed recently'));
    }
    const timeout = this.options.timeoutMs / 1000;
    const insecure = this.options.allowHttp && this.config.issuer.startsWith('http:');
    const pending = client
      .discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        { [client.clockTolerance]: this.options.clockToleranceSeconds },
        this.config.tokenEndpointAuthMethod === 'client_secret_post' ? client.ClientSecretPost(this.clientSecret) : client.ClientSecretBasic(this.clientSecret),
        {
          timeout,
          // Every call of this directory (discovery, keys, token, userinfo) over pooled keep-alive
          // connections, without the WHATWG fetch machinery (pooled-fetch.ts); discovery hands it on.
          [client.customFetch]: pooledFetch(),
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
      throw toDirectoryError(err, 'directory discovery');
    });
  }

  async begin(request: BeginRequest): Promise<BeginResult> {
    const configuration = await this.discover();
    const state: OidcState = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
    const params: Record<string, string> = {
      redirect_uri: request.callbackUrl,
      response_type: 'code',
      scope: this.config.scope,
      state: state.state,
      nonce: state.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(state.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (request.forceLogin) params.prompt = 'login';
    if (request.maxAge !== undefined) params.max_age = String(request.maxAge);
    if (request.uiLocales) params.ui_locales = request.uiLocales;
    return { redirect: client.buildAuthorizationUrl(configuration, params), state: { ...state } };
  }

  async complete(callback: CallbackRequest, transaction: DirectoryTransaction): Promise<DirectoryIdentity> {
    if (transaction.directoryId !== this.id) {
      throw new DirectoryError('directory_transaction_invalid', 'callback reached another directory than the one started');
    }
    if (callback.method !== 'GET') throw new DirectoryError('directory_invalid_response', 'an OpenID Connect directory answers with a redirect');
    const state = transaction.state as unknown as OidcState;
    const configuration = await this.discover();
    let claims: client.IDToken;
    let userinfo: Record<string, unknown> = {};
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callback.url, {
        pkceCodeVerifier: state.codeVerifier,
        expectedState: state.state,
        expectedNonce: state.nonce,
        idTokenExpected: true,
        ...(transaction.maxAge !== undefined ? { maxAge: transaction.maxAge } : {}),
      });
      const idTokenClaims = tokens.claims();
      if (!idTokenClaims) throw new DirectoryError('directory_invalid_response', 'no ID token in the token response');
      claims = idTokenClaims;
      // openid-client checks that userinfo describes the same subject as the ID token.
      if (this.config.userinfo) userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idTokenClaims.sub);
    } catch (err) {
      throw toDirectoryError(err, 'directory token exchange');
    }
    const now = Math.floor(Date.now() / 1000);
    const authTime =
      typeof claims.auth_time === 'number' && claims.auth_time <= now + this.options.clockToleranceSeconds ? Math.min(claims.auth_time, now) : now;
    if (transaction.forceLogin && authTime + this.options.clockToleranceSeconds < transaction.startedAt) {
      throw new DirectoryError('directory_invalid_response', 'the directory did not re-authenticate the user as asked');
    }
    const attributes: Record<string, unknown> = {};
    for (const [name, value] of Object.entries({ ...userinfo, ...claims })) {
      if (!PROTOCOL_CLAIMS.has(name)) attributes[name] = value;
    }
    return { directoryId: this.id, issuer: claims.iss, subject: claims.sub, authTime, attributes };
  }
}
