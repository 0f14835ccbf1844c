import { describeIssues, ophOrganisationSchema, toOrganisation } from './oph.js';
import { readBoundedBody } from '../http/bounded-body.js';
import { OID_PATTERN, SCHOOL_CODE_PATTERN, RegistryUnavailableError, isValidLookupId, type Organisation, type OrganisationRegistry } from './types.js';

/** Options of {@link OphHttpRegistry}. */
export interface OphHttpRegistryOptions {
  /** Service origin, e.g. `https://virkailija.opintopolku.fi` (test: `https://virkailija.untuvaopintopolku.fi`). */
  baseUrl: string;
  /** Sent as the `Caller-Id` header: the service asks every caller to name itself. */
  callerId: string;
  /** Whole-request timeout (connect, headers and body). Default 3000 ms: a login waits on it. */
  timeoutMs?: number;
  /** Largest accepted response body. Default 256 KiB: one organisation is a few KiB. */
  maxResponseBytes?: number;
  /** Injected for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;

// A header value that needs no quoting and cannot smuggle a line break.
const CALLER_ID_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * Client of the Opetushallitus organisation service: `GET {baseUrl}/organisaatio-service/api/{id}`.
 *
 * Only ids passing {@link isValidLookupId} are ever sent (they come from school directories).
 * 404, an empty body or `null` mean "unknown" (`undefined`); everything else that is not a valid
 * organisation record — 5xx and other statuses, timeout, network failure, non-JSON, a body over the
 * size limit, a wrong shape, or a record about another organisation than asked — throws
 * {@link RegistryUnavailableError} with the cause attached, so a fault is never mistaken for an
 * unknown school (and never cached as one).
 */
export class OphHttpRegistry implements OrganisationRegistry {
  private readonly base: string;
  private readonly callerId: string;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly fetch: typeof fetch;

  /** @throws {TypeError} on a base URL that is not http(s), or a caller id that is not a plain header token. */
  constructor(options: OphHttpRegistryOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('baseUrl must be an http(s) URL');
    if (url.search || url.hash) throw new TypeError('baseUrl must not have a query or fragment');
    this.base = url.href.replace(/\/+$/, '');
    if (!CALLER_ID_PATTERN.test(options.callerId)) throw new TypeError('callerId must be 1-200 visible ASCII characters');
    this.callerId = options.callerId;
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.maxResponseBytes = positive(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, 'maxResponseBytes');
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async lookup(id: string): Promise<Organisation | undefined> {
    if (!isValidLookupId(id)) return undefined;
    const url = `${this.base}/organisaatio-service/api/${encodeURIComponent(id)}`;
    const signal = AbortSignal.timeout(this.timeoutMs);

    let response: Response;
    try {
      response = await this.fetch(url, {
        method: 'GET',
        headers: { 'Caller-Id': this.callerId, Accept: 'application/json' },
        signal,
      });
    } catch (error) {
      throw transportError(error, signal);
    }

    if (response.status === 404) {
      await discard(response);
      return undefined;
    }
    if (response.status < 200 || response.status > 299) {
      await discard(response);
      throw new RegistryUnavailableError(`organisation service answered HTTP ${response.status}`, {
        reason: 'http_status',
        status: response.status,
      });
    }

    let body: string;
    try {
      body = await readCapped(response, this.maxResponseBytes);
    } catch (error) {
      throw error instanceof RegistryUnavailableError ? error : transportError(error, signal);
    }
    if (body.trim() === '') return undefined;

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      throw new RegistryUnavailableError('organisation service answered with something other than JSON', {
        reason: 'invalid_response',
        cause: error,
      });
    }
    if (json === null) return undefined;

    const parsed = ophOrganisationSchema.safeParse(json);
    if (!parsed.success) {
      throw new RegistryUnavailableError(`organisation service answered with an invalid record: ${describeIssues(parsed.error).join('; ')}`, {
        reason: 'invalid_response',
        cause: parsed.error,
      });
    }
    const org = toOrganisation(parsed.data);
    if (!answers(id, org)) {
      throw new RegistryUnavailableError('organisation service answered about a different organisation than asked', {
        reason: 'invalid_response',
      });
    }
    return org;
  }
}

/** Does the record carry the id it was looked up by? Guards claims against a confused upstream or proxy. */
function answers(id: string, org: Organisation): boolean {
  if (OID_PATTERN.test(id)) return org.oid === id;
  if (SCHOOL_CODE_PATTERN.test(id)) return org.schoolCode === id;
  return org.officeCode === id;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`);
  return value;
}

function transportError(error: unknown, signal: AbortSignal): RegistryUnavailableError {
  // Whether the request or the body read was cut off, the timeout signal is what aborted it.
  if (signal.aborted) {
    return new RegistryUnavailableError('organisation service did not answer in time', { reason: 'timeout', cause: error });
  }
  return new RegistryUnavailableError('organisation service could not be reached', { reason: 'network', cause: error });
}

/** Frees the connection of a response whose body is not needed. */
async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to free.
  }
}

/** Reads the body as UTF-8, refusing more than `limit` bytes without buffering them. */
async function readCapped(response: Response, limit: number): Promise<string> {
  const tooLarge = () => new RegistryUnavailableError(`organisation service response is larger than ${limit} bytes`, { reason: 'invalid_response' });
  const body = await readBoundedBody(response, limit, tooLarge);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (error) {
    throw new RegistryUnavailableError('organisation service response is not UTF-8', { reason: 'invalid_response', cause: error });
  }
}
