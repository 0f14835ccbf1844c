import { RegistryUnavailableError, type Organisation, type OrganisationRegistry } from './types.js';
import { metrics } from '../observability/metrics.js';

/** Options of {@link CachedRegistry}; every duration in milliseconds. */
export interface CachedRegistryOptions {
  /** How long a found organisation is served without asking again. Default 1 h. */
  ttlMs?: number;
  /** How long "unknown id" is served without asking again. Default 5 min: short, so a newly founded school appears soon. */
  negativeTtlMs?: number;
  /**
   * While the inner registry is unavailable, an answer up to this old (counted from when it was
   * fetched) is served instead of the error. Default 24 h.
   */
  staleIfErrorMs?: number;
  /** Most ids kept; the least recently used goes first. Default 10 000. */
  maxEntries?: number;
  /**
   * After the inner registry failed as unavailable, it is not asked again for this long (circuit
   * breaker): an outage costs one timeout per interval, not one per login. Default 30 s.
   */
  retryAfterFailureMs?: number;
  /**
   * Answers shared by every instance (in the store): a restarted or new instance starts warm, and
   * during an outage resolves every school any instance resolved within `staleIfErrorMs`.
   */
  shared?: SharedAnswers;
  /** Told once per outage that stale answers are being served (the cache has no logger of its own). */
  onOutage?: (error: RegistryUnavailableError) => void;
  /** Clock, injectable for tests. Default `Date.now`. */
  now?: () => number;
}

const CACHE_DEFAULTS = {
  ttlMs: 60 * 60 * 1000,
  negativeTtlMs: 5 * 60 * 1000,
  staleIfErrorMs: 24 * 60 * 60 * 1000,
  maxEntries: 10_000,
  retryAfterFailureMs: 30_000,
} as const;

export interface Entry {
  /** `undefined` records "unknown id" (negative caching). */
  value: Organisation | undefined;
  fetchedAt: number;
}

/** The registry's answers as every instance sees them; failures of the store never fail a lookup. */
export interface SharedAnswers {
  get(id: string): Promise<Entry | undefined>;
  put(id: string, entry: Entry, ttlSeconds: number): Promise<void>;
}

/**
 * Caching decorator for any {@link OrganisationRegistry}. The organisation service is slow and
 * sometimes down, and a login may look up the same school and its parents several times:
 *
 * - found organisations are kept `ttlMs`, unknown ids `negativeTtlMs`;
 * - **stale-if-error**: when the inner registry throws {@link RegistryUnavailableError}, the last
 *   answer for the id (found or unknown) is served if it is younger than `staleIfErrorMs`, so an
 *   outage does not break logins at recently seen schools; without one the error propagates;
 * - other errors (bugs) always propagate and are never hidden behind stale data;
 * - at most `maxEntries` ids, least recently used evicted first;
 * - concurrent lookups of one id share a single inner call (single-flight), so a burst of logins at
 *   one school at 8 am costs one request;
 * - **stale-while-revalidate**: an entry past its TTL but within `staleIfErrorMs` is served at once
 *   and refreshed in the background, so a slow or hanging registry never delays a login that has
 *   an answer on hand;
 * - **circuit breaker**: after the registry failed as unavailable it is left alone for
 *   `retryAfterFailureMs`; meanwhile ids without an answer fail at once (unresolved) instead of
 *   each waiting for a timeout.
 *
 * Keys are the ids as given: a school looked up by code and by OID is two entries.
 */
export class CachedRegistry implements OrganisationRegistry {
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly staleIfErrorMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Organisation | undefined>>();
  private readonly retryAfterFailureMs: number;
  private readonly onOutage: ((error: RegistryUnavailableError) => void) | undefined;
  /** While set and in the future, the registry is not asked (the last failure, for callers without an answer). */
  private outage: { until: number; error: RegistryUnavailableError } | undefined;

  constructor(
    private readonly inner: OrganisationRegistry,
    private readonly options: CachedRegistryOptions = {},
  ) {
    this.ttlMs = nonNegative(options.ttlMs ?? CACHE_DEFAULTS.ttlMs, 'ttlMs');
    this.negativeTtlMs = nonNegative(options.negativeTtlMs ?? CACHE_DEFAULTS.negativeTtlMs, 'negativeTtlMs');
    this.staleIfErrorMs = nonNegative(options.staleIfErrorMs ?? CACHE_DEFAULTS.staleIfErrorMs, 'staleIfErrorMs');
    this.maxEntries = options.maxEntries ?? CACHE_DEFAULTS.maxEntries;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.now = options.now ?? Date.now;
    this.retryAfterFailureMs = nonNegative(options.retryAfterFailureMs ?? CACHE_DEFAULTS.retryAfterFailureMs, 'retryAfterFailureMs');
    this.onOutage = options.onOutage;
  }

  /** Number of ids currently cached (fresh or stale). */
  get size(): number {
    return this.entries.size;
  }

  /** Resolves when every lookup in flight (background refreshes included) has ended. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Forgets everything (in-flight lookups still complete and are stored). */
  clear(): void {
    this.entries.clear();
  }

  lookup(id: string): Promise<Organisation | undefined> {
    const entry = this.entries.get(id);
    if (entry) {
      const age = this.now() - entry.fetchedAt;
      const ttl = entry.value === undefined ? this.negativeTtlMs : this.ttlMs;
      if (age < ttl) {
        this.touch(id, entry);
        metrics.organisationLookups.inc({ result: 'hit' });
        return Promise.resolve(entry.value);
      }
      if (age < this.staleIfErrorMs) {
        // Served now; the registry is asked in the background (unless it is known to be down).
        this.touch(id, entry);
        metrics.organisationLookups.inc({ result: 'stale' });
        if (!this.isDown()) this.refreshOnce(id).catch(() => undefined);
        return Promise.resolve(entry.value);
      }
      // Past both its TTL and its stale-if-error window the entry is useless: drop it now.
      this.entries.delete(id);
    }
    return this.refreshOnce(id);
  }

  private isDown(): boolean {
    return this.outage !== undefined && this.now() < this.outage.until;
  }

  /** One inner call per id at a time (single-flight). */
  private refreshOnce(id: string): Promise<Organisation | undefined> {
    const pending = this.inFlight.get(id);
    if (pending) return pending;
    const flight = this.refresh(id).finally(() => {
      if (this.inFlight.get(id) === flight) this.inFlight.delete(id);
    });
    this.inFlight.set(id, flight);
    return flight;
  }

  /** Another instance's answer, if one is shared; the store being down only means there is none. */
  private async sharedAnswer(id: string): Promise<Entry | undefined> {
    try {
      return (await this.options.shared?.get(id)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  private async refresh(id: string): Promise<Organisation | undefined> {
    const local = this.entries.get(id);
    const shared = await this.sharedAnswer(id);
    if (shared && (!local || shared.fetchedAt > local.fetchedAt)) {
      const age = this.now() - shared.fetchedAt;
      if (age < (shared.value === undefined ? this.negativeTtlMs : this.ttlMs)) {
        this.store(id, shared);
        metrics.organisationLookups.inc({ result: 'shared' });
        return shared.value;
      }
      // Older than its TTL: still the newest answer there is, if the registry is down.
      if (age < this.staleIfErrorMs) this.store(id, shared);
    }
    if (this.isDown()) {
      const stale = this.entries.get(id);
      if (stale && this.now() - stale.fetchedAt < this.staleIfErrorMs) {
        metrics.organisationLookups.inc({ result: 'stale' });
        return stale.value;
      }
      metrics.organisationLookups.inc({ result: 'unavailable' });
      throw this.outage!.error;
    }
    metrics.organisationLookups.inc({ result: 'miss' });
    try {
      const value = await this.inner.lookup(id);
      this.outage = undefined;
      const entry = { value, fetchedAt: this.now() };
      this.store(id, entry);
      await this.options.shared?.put(id, entry, Math.ceil(this.staleIfErrorMs / 1000)).catch(() => undefined);
      return value;
    } catch (error) {
      if (error instanceof RegistryUnavailableError) {
        if (!this.isDown()) this.onOutage?.(error);
        this.outage = { until: this.now() + this.retryAfterFailureMs, error };
      }
      // Read the entry now, not before the call: it is the newest answer we have.
      const stale = this.entries.get(id);
      if (error instanceof RegistryUnavailableError && stale && this.now() - stale.fetchedAt < this.staleIfErrorMs) {
        this.touch(id, stale);
        metrics.organisationLookups.inc({ result: 'stale' });
        return stale.value;
      }
      throw error;
    }
  }

  private store(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  private touch(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
  }
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}
