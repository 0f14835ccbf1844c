import { displayName, RegistryUnavailableError, resolveSchool, type OrganisationRegistry } from '../organisations/index.js';
import type { Logger } from '../observability/logger.js';
import { metrics } from '../observability/metrics.js';
import type { SchoolFacts } from './validation-table.js';

/**
 * Looks up every school id a directory sent. An id the registry cannot answer for (an outage with
 * nothing cached) counts as unresolved: its claims are dropped rather than delivered unchecked.
 */
export async function lookupSchools(registry: OrganisationRegistry, ids: readonly string[], logger: Logger): Promise<Map<string, SchoolFacts | undefined>> {
  const entries = await Promise.all(
    [...new Set(ids)].map(async (id): Promise<[string, SchoolFacts | undefined]> => {
      try {
        const resolved = await resolveSchool(registry, id);
        if (!resolved?.school.schoolCode) return [id, undefined];
        return [
          id,
          {
            code: resolved.school.schoolCode,
            oid: resolved.school.oid,
            name: displayName(resolved.school),
            ...(resolved.office ? { officeOid: resolved.office.oid } : {}),
            providerOid: resolved.provider.oid,
            providerName: displayName(resolved.provider),
            active: resolved.active,
          },
        ];
      } catch (err) {
        if (!(err instanceof RegistryUnavailableError)) throw err;
        // Counted apart from unknown schools: these would have resolved had the registry answered.
        metrics.organisationLookups.inc({ result: 'unresolved_outage' });
        logger.warn({ reason: err.reason }, 'organisation registry unavailable; school treated as unresolved');
        return [id, undefined];
      }
    }),
  );
  return new Map(entries);
}
