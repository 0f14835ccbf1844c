import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ConnectorOptions } from '../options.js';
import { DirectoryError } from '../../errors.js';
import { checkAddressAnswers } from '../health-check.js';
import type { BeginRequest, BeginResult, CallbackRequest, DirectoryConnector, DirectoryIdentity, HealthReport, DirectoryTransaction } from '../types.js';
import { wilmaAttributes, wilmaLoginUrl, wilmaUserDataUrl, type WilmaDirectorySettings } from './settings.js';
import { readBoundedBody } from '../../../http/bounded-body.js';

/** What the connector keeps between the redirect and the callback. */
interface WilmaState {
  nonce: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** The documented lengths: 24 characters in the return URL, 16 in the user-data call. */
const RETURN_NONCE_LENGTH = 24;
const DATA_NONCE_LENGTH = 16;
const HEX_MAC = /^[0-9a-fA-F]{64}$/;
const NONCE = /^[A-Za-z0-9]{24}$/;
/** A user id travels in a URL; anything longer or with control characters is not one Wilma made. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const USER_ID = /^[^\u0000-\u001f\u007f]{1,256}$/;
/** The legacy answer is a few hundred bytes per user; this is far beyond any real one. */
const MAX_ANSWER_BYTES = 256 * 1024;
/** Remembered longer than any login transaction lives, so a used nonce can never be accepted again. */
const USED_NONCE_TTL_SECONDS = 24 * 3600;
const MAX_USERS = 20;
const MAX_SUBJECT_LENGTH = 256;

/** The answer of the user-data call: a list of user objects (the legacy answer has exactly one). */
const userDataAnswer = z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_USERS);

function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** Lower-case hex HMAC-SHA256 of the URL text, as Wilma computes it. */
function wilmaMac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** `url` with its HMAC appended as the last parameter (`…&h=<hex>`). */
function signed(secret: string, url: string): string {
  return `${url}&h=${wilmaMac(secret, url)}`;
}

/** An address's normal form, so the text we sign is the text the browser or fetch sends. */
function normalised(address: string): string {
  const url = new URL(address);
  return `${url.origin}${url.pathname}`;
}

/**
 * The values a JSON path selects in `value` (see JSON_PATH in settings.ts). A missing property
 * selects nothing; a value that is not an object where a property is asked for selects nothing.
 */
export function selectPath(value: unknown, path: string): unknown[] {
  let current: unknown[] = [value];
  for (const segment of path.split('.')) {
    const many = segment.endsWith('[]');
    const name = many ? segment.slice(0, -2) : segment;
    const next: unknown[] = [];
    for (const item of current) {
      if (typeof item !== 'object' || item === null || Array.isArray(item) || !Object.hasOwn(item, name)) continue;
      const found = (item as Record<string, unknown>)[name];
      if (found === null || found === undefined) continue;
      if (many && Array.isArray(found)) next.push(...(found as unknown[]));
      else next.push(found);
    }
    current = next;
  }
  return current;
}

/**
 * A Wilma directory (Visma): the browser is sent to `<base>/mpass` with a return URL carrying our
 * nonce, all signed with the shared secret (HMAC-SHA256, lower-case hex, over the URL up to `&h=`);
 * Wilma sends it back with `userid` and its own MAC over the callback URL. The redirect names the
 * user only, so the user's data is then read with Wilma's signed JSON call.
 */
export class WilmaConnector implements DirectoryConnector {
  readonly id: string;
  readonly callbackMethod = 'GET' as const;
  private readonly loginUrl: string;
  private readonly userDataUrl: string;
  private readonly attributes: Record<string, string>;

  constructor(
    private readonly settings: WilmaDirectorySettings,
    private readonly secret: string,
    private readonly options: ConnectorOptions,
  ) {
    this.id = settings.id;
    this.loginUrl = normalised(wilmaLoginUrl(settings));
    this.userDataUrl = normalised(wilmaUserDataUrl(settings));
    for (const url of [this.loginUrl, this.userDataUrl]) {
      // The secret-signed user data must not cross the network in clear outside development.
      if (!url.startsWith('https://') && !options.allowHttp) throw new Error(`directory ${settings.id}: ${url} is not https`);
    }
    this.attributes = wilmaAttributes(settings);
    if (!Object.hasOwn(this.attributes, settings.uniqueIdAttribute)) {
      throw new Error(`directory ${settings.id}: uniqueIdAttribute ${settings.uniqueIdAttribute} is not one of its userAttributes`);
    }
  }

  async begin(request: BeginRequest): Promise<BeginResult> {
    const state: WilmaState = { nonce: randomAlphanumeric(RETURN_NONCE_LENGTH) };
    const returnUrl = `${request.callbackUrl}?nonce=${state.nonce}`;
    // Wilma has no max_age: a fresh login is all it can be asked for, and it is asked for both.
    const force = request.forceLogin || request.maxAge !== undefined;
    const url = `${this.loginUrl}?redirectto=${encodeURIComponent(returnUrl)}${force ? '&forceauth=true' : ''}`;
    return { redirect: new URL(signed(this.secret, url)), state: { ...state } };
  }

  async complete(callback: CallbackRequest, transaction: DirectoryTransaction): Promise<DirectoryIdentity> {
    if (transaction.directoryId !== this.id) {
      throw new DirectoryError('directory_transaction_invalid', 'callback reached another directory than the one started');
    }
    if (callback.method !== 'GET') throw new DirectoryError('directory_invalid_response', 'Wilma answers with a redirect');
    const { userId, nonce } = this.verifyCallback(callback.url, transaction);
    // The transaction is taken once, which already makes the nonce single use; remembering it in the
    // shared store as well refuses it even if a transaction were ever replayed from elsewhere.
    const usedKey = `wilma:${this.id}:${nonce}`;
    if (!(await this.options.replay.add(usedKey, true, USED_NONCE_TTL_SECONDS))) {
      throw new DirectoryError('directory_invalid_response', 'the Wilma nonce was already used');
    }

    const users = await this.readUserData(userId);
    const attributes = this.extract(users);
    const subject = attributes[this.settings.uniqueIdAttribute];
    if (typeof subject !== 'string' || subject.trim() === '' || subject.length > MAX_SUBJECT_LENGTH) {
      throw new DirectoryError('directory_invalid_response', `the Wilma answer has no single unique id (${this.settings.uniqueIdAttribute})`);
    }
    // The protocol says nothing of when the user signed in; Wilma has just authenticated them (with
    // forceauth when a fresh login was asked for), so the time is now.
    return { directoryId: this.id, issuer: this.settings.baseUrl, subject, authTime: Math.floor(Date.now() / 1000), attributes };
  }

  /** The callback's user id and nonce, once its MAC and nonce are right (refused otherwise). */
  private verifyCallback(url: URL, transaction: DirectoryTransaction): { userId: string; nonce: string } {
    const href = url.href;
    const at = href.lastIndexOf('&h=');
    const mac = at < 0 ? '' : href.slice(at + 3);
    // Everything before `&h=` is signed; the MAC must be the last parameter, so nothing unsigned follows it.
    if (at < 0 || !HEX_MAC.test(mac)) throw new DirectoryError('directory_invalid_response', 'the Wilma callback has no valid h parameter');
    const signedPart = href.slice(0, at);
    const query = new URLSearchParams(signedPart.slice(signedPart.indexOf('?') + 1));
    const userIds = query.getAll('userid');
    const nonces = query.getAll('nonce');
    // A parameter sent twice is ambiguous (which one did Wilma mean?): refused rather than guessed.
    if (userIds.length !== 1 || nonces.length !== 1 || query.has('h')) {
      throw new DirectoryError('directory_invalid_response', 'the Wilma callback needs exactly one userid and one nonce');
    }
    const expected = createHmac('sha256', this.secret).update(signedPart, 'utf8').digest();
    if (!timingSafeEqual(expected, Buffer.from(mac, 'hex'))) throw new DirectoryError('directory_invalid_response', 'the Wilma callback MAC does not match');
    const nonce = nonces[0]!;
    const ours = (transaction.state as Partial<WilmaState>).nonce;
    if (typeof ours !== 'string' || !NONCE.test(nonce) || ours.length !== nonce.length || !timingSafeEqual(Buffer.from(nonce), Buffer.from(ours))) {
      throw new DirectoryError('directory_invalid_response', "the Wilma callback belongs to another login than this browser's");
    }
    const userId = userIds[0]!;
    if (!USER_ID.test(userId)) throw new DirectoryError('directory_invalid_response', 'the Wilma callback has no valid userid');
    return { userId, nonce };
  }

  /** Wilma's signed JSON call for the user: bounded in time and size, its answer checked. */
  private async readUserData(userId: string): Promise<Array<Record<string, unknown>>> {
    const url = signed(this.secret, `${this.userDataUrl}?username=${encodeURIComponent(userId)}&nonce=${randomAlphanumeric(DATA_NONCE_LENGTH)}`);
    let text: string;
    try {
      const response = await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new DirectoryError(
          response.status >= 500 ? 'directory_unavailable' : 'directory_invalid_response',
          `the Wilma user-data call was answered with HTTP ${response.status}`,
        );
      }
      text = await boundedText(response, MAX_ANSWER_BYTES);
    } catch (err) {
      if (err instanceof DirectoryError) throw err;
      const name = (err as Error).name;
      throw new DirectoryError(
        name === 'TimeoutError' || name === 'AbortError' ? 'directory_timeout' : 'directory_unavailable',
        'the Wilma user-data call failed',
        { cause: err },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DirectoryError('directory_invalid_response', 'the Wilma user-data answer is not JSON');
    }
    const parsed = userDataAnswer.safeParse(json);
    if (!parsed.success) throw new DirectoryError('directory_invalid_response', 'the Wilma user-data answer is not a list of users');
    return parsed.data;
  }

  /**
   * The configured attributes of the user, raw. Several entries are one user only if they share the
   * unique id (their values are then taken together); entries of different users are not guessed between.
   */
  private extract(users: Array<Record<string, unknown>>): Record<string, unknown> {
    const ids = new Set(users.map((user) => JSON.stringify(selectPath(user, this.attributes[this.settings.uniqueIdAttribute]!))));
    if (ids.size !== 1) throw new DirectoryError('directory_invalid_response', 'the Wilma user-data answer describes more than one user');
    const attributes: Record<string, unknown> = {};
    for (const [name, path] of Object.entries(this.attributes)) {
      const values = users.flatMap((user) => selectPath(user, path));
      if (values.length === 0) continue;
      // A path without `[]` names one value per user; a path through a list keeps the list (one per element).
      attributes[name] = !path.includes('[]') && values.length === 1 ? values[0] : values;
    }
    return attributes;
  }

  /** Health: the Wilma instance answers at its base URL (any answer but a server error). */
  checkHealth(timeoutMs: number): Promise<HealthReport> {
    return checkAddressAnswers(this.settings.baseUrl, timeoutMs);
  }
}

/** The body as text, refused once it exceeds `limit` bytes (without reading the rest). */
async function boundedText(response: Response, limit: number): Promise<string> {
  const tooLarge = () => new DirectoryError('directory_invalid_response', 'the Wilma user-data answer is too large');
  return (await readBoundedBody(response, limit, tooLarge)).toString('utf8');
}
