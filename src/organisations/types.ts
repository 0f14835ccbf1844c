/**
 * The organisation registry as the rest of the bridge sees it: one small interface, the organisation
 * record in our own words, and the few predicates every caller needs. The wire format of the
 * Opetushallitus organisation service lives in `oph.ts`; nothing outside this folder should know it.
 */

/** `status` of an organisation in the national organisation service. */
export type OrganisationStatus = 'AKTIIVINEN' | 'PASSIIVINEN' | 'SUUNNITELTU';

/** Every status the service is known to use; anything else is treated as an invalid response. */
export const ORGANISATION_STATUSES = ['AKTIIVINEN', 'PASSIIVINEN', 'SUUNNITELTU'] as const satisfies readonly OrganisationStatus[];

/** The organisation type codes (`tyypit`) the bridge acts on. */
export const ORGANISATION_TYPE = {
  /** koulutustoimija: the education provider (municipality, federation, foundation, company). */
  provider: 'organisaatiotyyppi_01',
  /** oppilaitos: a school, identified by its 5-digit school code. */
  school: 'organisaatiotyyppi_02',
  /** toimipiste: an office (site) of a school, sometimes with a 7-digit office code. */
  office: 'organisaatiotyyppi_03',
} as const;

/** One organisation, mapped from the registry's fields (names in comments). */
export interface Organisation {
  /** `oid`: `1.2.246.562.10.` + 11–12 digits (test organisations: node `.99`). */
  oid: string;
  /** `nimi`: use {@link displayName} to pick one. */
  names: { fi?: string; sv?: string; en?: string };
  /** `status`: only `AKTIIVINEN` counts as active (see {@link isActive}). */
  status: OrganisationStatus;
  /** `lakkautusPvm`: closing date, `YYYY-MM-DD` when the service gave a timestamp. */
  closingDate?: string;
  /** `tyypit`: e.g. `organisaatiotyyppi_01` provider, `_02` school, `_03` office. */
  types: string[];
  /** `oppilaitosKoodi`: 5-digit school code. */
  schoolCode?: string;
  /** `toimipistekoodi`: 7-digit office code, when the organisation has one. */
  officeCode?: string;
  /** `parentOid`: the organisation above this one. */
  parentOid?: string;
  /** `parentOidPath`: the chain of ancestors as the service writes it (informational only). */
  parentOidPath?: string;
}

/**
 * Looks organisations up by id. Implementations: `SnapshotRegistry` (bundled file),
 * `OphHttpRegistry` (the national service), `CachedRegistry` (decorator in front of either).
 */
export interface OrganisationRegistry {
  /**
   * @param id a 5-digit school code, a 7-digit office code or an organisation OID. Any other string
   *   resolves to `undefined` without asking anyone (see {@link isValidLookupId}).
   * @returns the organisation, or `undefined` when the registry does not know the id. Closed and
   *   planned organisations are returned too: check {@link isActive}.
   * @throws {RegistryUnavailableError} when the registry could not give an answer either way.
   */
  lookup(id: string): Promise<Organisation | undefined>;
}

/** Why the registry could not answer, as a stable code for logs and metrics. */
export type RegistryUnavailableReason =
  | 'timeout' // no answer in the configured time
  | 'network' // connection refused, reset, DNS failure, ...
  | 'http_status' // an HTTP status other than 2xx and 404
  | 'invalid_response'; // not JSON, too large, wrong shape, or about another organisation

/**
 * The registry could not answer (timeout, 5xx, network, invalid response). Distinct from "unknown
 * id" (`undefined`) on purpose: an outage must not look like a school that does not exist, and the
 * cache serves stale entries only for this error.
 */
export class RegistryUnavailableError extends Error {
  override readonly name = 'RegistryUnavailableError';
  readonly reason: RegistryUnavailableReason;
  /** The HTTP status when `reason` is `http_status`. */
  readonly status: number | undefined;

  constructor(message: string, options: { reason: RegistryUnavailableReason; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason;
    this.status = options.status;
  }
}

/** Organisation OID: the public node `.10` or the test node `.99`, then 11 or 12 digits. */
export const OID_PATTERN = /^1\.2\.246\.562\.(?:10|99)\.\d{11,12}$/;
/** School code (oppilaitoskoodi). */
export const SCHOOL_CODE_PATTERN = /^\d{5}$/;
/** Office code (toimipistekoodi). */
export const OFFICE_CODE_PATTERN = /^\d{7}$/;

/**
 * True when `id` may be sent to the registry: a 5-digit school code, a 7-digit office code or an
 * organisation OID. The id ends up in a URL path, and it comes from a school directory (untrusted),
 * so everything else is refused before any I/O.
 */
export function isValidLookupId(id: unknown): id is string {
  return typeof id === 'string' && (SCHOOL_CODE_PATTERN.test(id) || OFFICE_CODE_PATTERN.test(id) || OID_PATTERN.test(id));
}

/** Active means `status === 'AKTIIVINEN'`: the service still returns closed and planned organisations. */
export function isActive(org: Organisation): boolean {
  return org.status === 'AKTIIVINEN';
}

/** True when the organisation has the given type code (see {@link ORGANISATION_TYPE}). */
export function hasType(org: Organisation, type: string): boolean {
  return org.types.includes(type);
}

/**
 * The organisation's name as MPASSid delivers it: Finnish, else Swedish, else English. Loaded
 * records always have one of them (both loaders refuse a record without a name); the OID is only a
 * last resort so the return type stays a string.
 */
export function displayName(org: Organisation): string {
  return org.names.fi ?? org.names.sv ?? org.names.en ?? org.oid;
}
