/**
 * The bundled organisation snapshot: the registry for development, tests and offline use.
 *
 * File format (`config/organisations.json`): the organisation service's own field names, so an entry
 * is a trimmed copy of a real `GET /organisaatio-service/api/{id}` response and a snapshot can be
 * refreshed by pasting responses in:
 *
 * ```json
 * {
 *   "description": "optional free text",
 *   "organisations": [
 *     { "oid": "1.2.246.562.99.00000000002", "nimi": { "fi": "Mansikkalan testi peruskoulu" },
 *       "status": "AKTIIVINEN", "tyypit": ["organisaatiotyyppi_02"], "oppilaitosKoodi": "30076",
 *       "parentOid": "1.2.246.562.99.00000000001" }
 *   ]
 * }
 * ```
 *
 * Fields: `oid`, `nimi` {fi, sv, en}, `status` (AKTIIVINEN | PASSIIVINEN | SUUNNITELTU),
 * `lakkautusPvm`, `tyypit`, `oppilaitosKoodi`, `toimipistekoodi`, `parentOid`, `parentOidPath`.
 * Unlike HTTP responses, unknown keys are refused here (in a hand-edited file they are typos), and
 * the same OID, school code or office code may appear only once. Parents need not be in the file
 * (a chain that leaves the file simply does not resolve).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues, ophOrganisationStrictSchema, toOrganisation } from './oph.js';
import { isValidLookupId, type Organisation, type OrganisationRegistry } from './types.js';

/** Schema of the whole snapshot file. */
export const snapshotFileSchema = z
  .object({
    description: z.string().optional(),
    organisations: z.array(ophOrganisationStrictSchema),
  })
  .strict();

/** The snapshot file is missing, not JSON, or not valid; the message lists every problem with its path. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/** An {@link OrganisationRegistry} over a fixed list, indexed by OID, school code and office code. */
export class SnapshotRegistry implements OrganisationRegistry {
  private readonly byId = new Map<string, Organisation>();

  /** @throws {SnapshotError} when two organisations share an OID, school code or office code. */
  constructor(organisations: readonly Organisation[], source = 'snapshot') {
    const problems: string[] = [];
    organisations.forEach((org, index) => {
      for (const key of [org.oid, org.schoolCode, org.officeCode]) {
        if (key === undefined) continue;
        const other = this.byId.get(key);
        if (other) problems.push(`organisations[${index}]: ${key} is already used by ${other.oid}`);
        else this.byId.set(key, org);
      }
    });
    if (problems.length > 0) throw new SnapshotError(`${source}: ${problems.join('; ')}`);
  }

  /**
   * Validates parsed JSON in the file format above.
   * @param source names the file in error messages.
   * @throws {SnapshotError}
   */
  static fromJson(value: unknown, source = 'snapshot'): SnapshotRegistry {
    const parsed = snapshotFileSchema.safeParse(value);
    if (!parsed.success) {
      throw new SnapshotError(`${source} is not a valid organisation snapshot:\n  ${describeIssues(parsed.error).join('\n  ')}`, {
        cause: parsed.error,
      });
    }
    return new SnapshotRegistry(parsed.data.organisations.map(toOrganisation), source);
  }

  /**
   * Reads and validates a snapshot file. Synchronous on purpose: it runs once at start-up, and a bad
   * file should stop the start rather than fail the first login.
   * @throws {SnapshotError}
   */
  static fromFile(path: string): SnapshotRegistry {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new SnapshotError(`cannot read organisation snapshot ${path}: ${(error as Error).message}`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SnapshotError(`${path} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    return SnapshotRegistry.fromJson(json, path);
  }

  /** How many distinct organisations the snapshot holds. */
  get size(): number {
    return new Set(this.byId.values()).size;
  }

  async lookup(id: string): Promise<Organisation | undefined> {
    // Same rule as the HTTP client, so development behaves like production for odd ids.
    return isValidLookupId(id) ? this.byId.get(id) : undefined;
  }
}
