import { ORGANISATION_TYPE, hasType, isActive, isValidLookupId, type Organisation, type OrganisationRegistry } from './types.js';

/** A school code or OID resolved to what the claims need: the school, its office, its provider. */
export interface ResolvedSchool {
  /** The school (`organisaatiotyyppi_02`): its code, OID and name go into the claims. */
  school: Organisation;
  /** The office (`organisaatiotyyppi_03`) when the id named one; its OID is the last field of the role claim. */
  office?: Organisation;
  /** The education provider (`organisaatiotyyppi_01`) above the school. */
  provider: Organisation;
  /** True only when the school, and the office if any, are `AKTIIVINEN`. */
  active: boolean;
}

/**
 * How many parents are followed at most in one climb. Real chains are short (office → school →
 * provider, sometimes one organisation in between); a bound keeps a broken registry from costing an
 * unbounded number of lookups during a login.
 */
export const MAX_PARENT_DEPTH = 8;

/**
 * Resolves a school code, office code or organisation OID to its school, office and education
 * provider. An office first climbs to its school; the provider is the nearest organisation at or
 * above the school whose types contain `organisaatiotyyppi_01`.
 *
 * @returns `undefined` when the id is not a valid lookup id, is unknown, names something that is
 *   neither a school nor an office, or when the chain cannot be completed (missing parent, no
 *   provider within {@link MAX_PARENT_DEPTH}, a cycle). A school that resolves but is closed or planned
 *   is returned with `active: false`: the caller decides, and may still name it in its logs.
 * @throws {RegistryUnavailableError} from the registry: an outage is not the same as an unknown school.
 */
export async function resolveSchool(registry: OrganisationRegistry, id: string): Promise<ResolvedSchool | undefined> {
  if (!isValidLookupId(id)) return undefined;
  const start = await registry.lookup(id);
  if (!start) return undefined;

  let school: Organisation | undefined;
  let office: Organisation | undefined;
  if (hasType(start, ORGANISATION_TYPE.school)) {
    school = start;
  } else if (hasType(start, ORGANISATION_TYPE.office)) {
    office = start;
    // An office belongs to a school; reaching a provider first means the chain is not one we understand.
    school = await findAncestor(registry, start, (org) =>
      hasType(org, ORGANISATION_TYPE.school) ? 'found' : hasType(org, ORGANISATION_TYPE.provider) ? 'stop' : 'climb',
    );
  }
  if (!school) return undefined;

  // A school that is its own provider (both types) is its own provider; otherwise climb.
  const provider = hasType(school, ORGANISATION_TYPE.provider)
    ? school
    : await findAncestor(registry, school, (org) => (hasType(org, ORGANISATION_TYPE.provider) ? 'found' : 'climb'));
  if (!provider) return undefined;

  const active = isActive(school) && (office === undefined || isActive(office));
  return office ? { school, office, provider, active } : { school, provider, active };
}

type Verdict = 'found' | 'stop' | 'climb';

/** Follows `parentOid` from `from` (exclusive) until `judge` says found or stop; bounded and cycle-safe. */
async function findAncestor(registry: OrganisationRegistry, from: Organisation, judge: (org: Organisation) => Verdict): Promise<Organisation | undefined> {
  const seen = new Set<string>([from.oid]);
  let current = from;
  for (let hop = 0; hop < MAX_PARENT_DEPTH; hop++) {
    const parentOid = current.parentOid;
    if (parentOid === undefined || seen.has(parentOid)) return undefined;
    seen.add(parentOid);
    const parent = await registry.lookup(parentOid);
    // A registry answering with a different organisation than asked would make the chain meaningless.
    if (!parent || parent.oid !== parentOid) return undefined;
    const verdict = judge(parent);
    if (verdict === 'found') return parent;
    if (verdict === 'stop') return undefined;
    current = parent;
  }
  return undefined;
}
