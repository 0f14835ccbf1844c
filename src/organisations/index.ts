import { resolve } from 'node:path';
import type { OrganisationRegistryConfig } from '../config/organisations.js';
import type { StateStore } from '../storage/types.js';
import { CachedRegistry, type Entry, type SharedAnswers } from './cache.js';
import { OphHttpRegistry } from './http.js';
import { SnapshotRegistry } from './snapshot.js';
import type { OrganisationRegistry, RegistryUnavailableError } from './types.js';

export { RegistryUnavailableError, displayName, isActive, isValidLookupId } from './types.js';
export type { Organisation, OrganisationRegistry } from './types.js';
export { MAX_PARENT_DEPTH, resolveSchool } from './resolve.js';
export { SnapshotError, SnapshotRegistry, snapshotFileSchema } from './snapshot.js';
export { OphHttpRegistry } from './http.js';
export { organisationRegistrySchema } from '../config/organisations.js';
export { CachedRegistry } from './cache.js';

/** Things the factory needs besides configuration; all optional. */
export interface OrganisationRegistryDeps {
  /** Base for a relative `snapshotFile`. Default `process.cwd()`. */
  cwd?: string;
  /** `fetch` for the HTTP client (tests). */
  fetch?: typeof fetch;
  /** Clock for the cache (tests). */
  now?: () => number;
  /** Told once per registry outage (the cache then serves stale answers and fails unknown ids at once). */
  onOutage?: (error: RegistryUnavailableError) => void;
  /** The store every instance shares: the HTTP registry's answers are cached there too. */
  shared?: StateStore;
}

/** The registry's answers in the shared store, one key per id, expiring with the stale-if-error window. */
function sharedAnswersOver(store: StateStore): SharedAnswers {
  return {
    get: (id) => store.get<Entry>(`organisation:${id}`),
    put: (id, entry, ttlSeconds) => store.set(`organisation:${id}`, entry, ttlSeconds),
  };
}

/**
 * Builds the configured registry, always behind a {@link CachedRegistry}. The snapshot is read and
 * validated here, so a broken file stops the start-up.
 * @throws {SnapshotError} for an unreadable or invalid snapshot.
 */
export function createOrganisationRegistry(config: OrganisationRegistryConfig, deps: OrganisationRegistryDeps = {}): OrganisationRegistry {
  const inner: OrganisationRegistry =
    config.source === 'http'
      ? new OphHttpRegistry({
          baseUrl: config.baseUrl,
          callerId: config.callerId,
          timeoutMs: config.timeoutMs,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
        })
      : SnapshotRegistry.fromFile(resolve(deps.cwd ?? process.cwd(), config.snapshotFile));
  return new CachedRegistry(inner, {
    ttlMs: config.cache.ttlSeconds * 1000,
    negativeTtlMs: config.cache.negativeTtlSeconds * 1000,
    staleIfErrorMs: config.cache.staleIfErrorSeconds * 1000,
    maxEntries: config.cache.maxEntries,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.onOutage ? { onOutage: deps.onOutage } : {}),
    // The bundled snapshot is the same file everywhere; only the service's answers are worth sharing.
    ...(deps.shared && config.source === 'http' ? { shared: sharedAnswersOver(deps.shared) } : {}),
  });
}
