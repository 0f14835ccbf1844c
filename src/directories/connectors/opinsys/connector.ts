import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { jwtVerify, type JWTPayload } from 'jose';
import type { ConnectorOptions } from '../options.js';
import { DirectoryError } from '../../errors.js';
import { checkAddressAnswers } from '../health-check.js';
import type { BeginRequest, BeginResult, CallbackRequest, DirectoryConnector, DirectoryIdentity, HealthReport, DirectoryTransaction } from '../types.js';

/** The settings this connector reads (a directory definition of type opinsys). */
export interface OpinsysDirectorySettings {
  id: string;
  baseUrl: string;
  organisation?: string | undefined;
  iatWindowSeconds: number;
  uniqueIdClaim: string;
}

/** What the connector keeps between the redirect and the callback. */
interface OpinsysState {
  state: string;
}

/** The query parameter of return_to that carries our state (Opinsys hands return_to back as given). */
const OPINSYS_STATE_PARAM = 'state';

/** Claims that describe the token, not the user: never part of the attribute bag. */
const PROTOCOL_CLAIMS = new Set(['iat', 'jti', 'exp', 'nbf', 'iss', 'aud', 'sub']);

/** A JWT of a dozen string claims is a few hundred bytes; anything near this is not Opinsys'. */
const MAX_JWT_CHARS = 16 * 1024;
const MAX_ID_CHARS = 256;

/** Where a used jti is remembered: per Opinsys service (a tenant's jti is unique there), hashed to a bounded key. */
const replayKey = (baseUrl: string, jti: string): string => `opinsys-jti:${createHash('sha256').update(`${baseUrl}\0${jti}`, 'utf8').digest('base64url')}`;

function sameText(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** One value of a query parameter: a parameter sent twice is ambiguous and refused rather than guessed. */
function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new DirectoryError('directory_invalid_response', `the callback carried ${name} more than once`);
  return values[0];
}

const invalid = (message: string, cause?: unknown): DirectoryError =>
  new DirectoryError('directory_invalid_response', message, cause === undefined ? undefined : { cause });

/**
 * An Opinsys (Puavo) directory: the browser goes to `<base>/v3/sso` with `return_to` (our callback,
 * carrying our state) and comes back with a JWT signed HS256 with the shared secret. The JWT is
 * bound to nothing of ours (no audience, no nonce): it is a bearer credential for its short window,
 * so what makes it single use is its `jti`, remembered in the store all instances share.
 */
export class OpinsysConnector implements DirectoryConnector {
  readonly id: string;
  readonly callbackMethod = 'GET' as const;
  private readonly key: Uint8Array;
  private readonly ssoUrl: URL;

  constructor(
    private readonly config: OpinsysDirectorySettings,
    sharedSecret: string,
    private readonly options: ConnectorOptions,
  ) {
    this.id = config.id;
    this.key = new TextEncoder().encode(sharedSecret);
    this.ssoUrl = new URL(`${config.baseUrl.replace(/\/+$/, '')}/v3/sso`);
  }

  async begin(request: BeginRequest): Promise<BeginResult> {
    // Opinsys documents no parameter for a forced re-authentication (and Kerberos logins on its
    // managed desktops come back without a form): prompt=login and max_age cannot be passed on.
    if (this.ssoUrl.protocol !== 'https:' && !(this.options.allowHttp && this.ssoUrl.protocol === 'http:')) {
      // The JWT comes back in the URL: over plain http only to the bundled simulator outside production.
      throw new DirectoryError('directory_unavailable', 'the Opinsys address is not https');
    }
    const state: OpinsysState = { state: randomBytes(24).toString('base64url') };
    const returnTo = new URL(request.callbackUrl);
    returnTo.searchParams.set(OPINSYS_STATE_PARAM, state.state);
    const redirect = new URL(this.ssoUrl);
    redirect.searchParams.set('return_to', returnTo.href);
    if (this.config.organisation) redirect.searchParams.set('organisation', this.config.organisation);
    return { redirect, state: { ...state } };
  }

  async complete(callback: CallbackRequest, transaction: DirectoryTransaction): Promise<DirectoryIdentity> {
    if (transaction.directoryId !== this.id) {
      throw new DirectoryError('directory_transaction_invalid', 'callback reached another directory than the one started');
    }
    if (callback.method !== 'GET') throw invalid('Opinsys answers with a redirect');
    const params = callback.url.searchParams;
    const expected = (transaction.state as Partial<OpinsysState>).state;
    const state = single(params, OPINSYS_STATE_PARAM);
    // The state in return_to must be the one of this browser's login: a callback another browser
    // started is refused before its token is looked at (and its jti is not spent).
    if (typeof expected !== 'string' || state === undefined || !sameText(state, expected)) {
      throw new DirectoryError('directory_transaction_invalid', 'the state in the callback is not the one of this browser');
    }
    const jwt = single(params, 'jwt');
    if (!jwt) throw invalid('the callback carried no jwt');
    if (jwt.length > MAX_JWT_CHARS) throw invalid('the jwt is too long');

    let payload: JWTPayload;
    try {
      // HS256 only: `none`, the other HMAC lengths and every public-key algorithm are refused, so the
      // shared secret can never be mistaken for a public key or a weaker MAC.
      ({ payload } = await jwtVerify(jwt, this.key, { algorithms: ['HS256'], clockTolerance: this.options.clockToleranceSeconds }));
    } catch (err) {
      throw invalid('the jwt was refused', err);
    }

    const now = Math.floor(Date.now() / 1000);
    const tolerance = this.options.clockToleranceSeconds;
    const window = this.config.iatWindowSeconds;
    const iat = payload.iat;
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('the jwt has no iat');
    if (iat > now + tolerance) throw invalid('the jwt was issued in the future');
    if (iat < now - window - tolerance) throw invalid('the jwt is too old');

    const jti = payload.jti;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_ID_CHARS) throw invalid('the jwt has no valid jti');

    const rawId = payload[this.config.uniqueIdClaim];
    const subject = typeof rawId === 'number' && Number.isSafeInteger(rawId) ? String(rawId) : rawId;
    if (typeof subject !== 'string' || subject.trim() === '' || subject.length > MAX_ID_CHARS) {
      throw invalid(`the jwt has no usable ${this.config.uniqueIdClaim} claim`);
    }

    // Last, once everything else holds: an invalid token spends nothing. Of two uses of one jti, on
    // any instance and at the same moment, exactly one gets past this line.
    // Remembered as long as the token could still pass the iat check (skew allowed on both sides).
    const first = await this.options.replay.add(replayKey(this.config.baseUrl, jti), 1, window + 2 * tolerance + 1);
    if (!first) throw invalid('the jwt was already used');

    const attributes: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(payload)) if (!PROTOCOL_CLAIMS.has(name)) attributes[name] = value;
    return {
      directoryId: this.id,
      issuer: this.config.baseUrl,
      subject,
      // When Opinsys vouched: it may have reused its own session (or Kerberos), so this is not
      // necessarily when the user typed a password.
      authTime: Math.min(iat, now),
      attributes,
    };
  }

  /** The SSO service answers at all (any HTTP status below 500): Opinsys publishes nothing else to check. */
  checkHealth(timeoutMs: number): Promise<HealthReport> {
    return checkAddressAnswers(this.config.baseUrl, timeoutMs);
  }
}
