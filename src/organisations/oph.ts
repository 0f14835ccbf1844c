import { z } from 'zod';
import { OFFICE_CODE_PATTERN, OID_PATTERN, ORGANISATION_STATUSES, SCHOOL_CODE_PATTERN, type Organisation } from './types.js';

/**
 * The organisation record in the shape of the Opetushallitus organisation service
 * (`GET /organisaatio-service/api/{id}`), and its mapping to our {@link Organisation}.
 *
 * Shared by the HTTP client and the bundled snapshot, so a snapshot entry is literally a (trimmed)
 * API response and both sources are validated by the same rules. The service sends many more fields
 * than these; they are ignored (stripped). Optional fields may come as `null` or `""`; both mean
 * "absent".
 */

/** A string that is either empty or matches `pattern`; `null`/`undefined` allowed. */
function optionalMatching(pattern: RegExp, message: string) {
  return z
    .string()
    .refine((value) => value === '' || pattern.test(value), message)
    .nullish();
}

const names = z
  .object({
    fi: z.string().nullish(),
    sv: z.string().nullish(),
    en: z.string().nullish(),
  })
  .refine((n) => [n.fi, n.sv, n.en].some((name) => typeof name === 'string' && name.trim() !== ''), {
    message: 'needs a name in at least one of fi, sv, en',
  });

const shape = {
  oid: z.string().regex(OID_PATTERN, 'must be an organisation OID (1.2.246.562.10|99.<11-12 digits>)'),
  nimi: names,
  status: z.enum(ORGANISATION_STATUSES),
  // ISO date in the current API; older API versions used epoch milliseconds.
  lakkautusPvm: z.union([z.string(), z.number().int()]).nullish(),
  tyypit: z.array(z.string()).nullish(),
  oppilaitosKoodi: optionalMatching(SCHOOL_CODE_PATTERN, 'must be 5 digits'),
  toimipistekoodi: optionalMatching(OFFICE_CODE_PATTERN, 'must be 7 digits'),
  parentOid: optionalMatching(OID_PATTERN, 'must be an organisation OID'),
  parentOidPath: z.string().nullish(),
};

/** One organisation as the service sends it; unknown fields are stripped. */
export const ophOrganisationSchema = z.object(shape);
/** The same, refusing unknown fields: for the hand-edited snapshot, where an unknown key is a typo. */
export const ophOrganisationStrictSchema = z.object(shape).strict();
export type OphOrganisation = z.infer<typeof ophOrganisationSchema>;

function text(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

// Epoch milliseconds mean midnight in Finland; formatting in UTC would give the previous day.
const helsinkiDate = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Helsinki',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

function closingDate(value: string | number | null | undefined): string | undefined {
  if (typeof value === 'number') return helsinkiDate.format(new Date(value));
  return text(value);
}

/**
 * Maps a validated service record to an {@link Organisation}. The result is frozen: caches hand the
 * same object to every caller, so nobody may change it.
 */
export function toOrganisation(raw: OphOrganisation): Organisation {
  const org: Organisation = {
    oid: raw.oid,
    names: Object.freeze(
      Object.fromEntries(
        (['fi', 'sv', 'en'] as const).flatMap((lang) => {
          const name = text(raw.nimi[lang]);
          return name ? [[lang, name]] : [];
        }),
      ),
    ),
    status: raw.status,
    types: Object.freeze([...(raw.tyypit ?? [])]) as string[],
  };
  const optional = {
    closingDate: closingDate(raw.lakkautusPvm),
    schoolCode: text(raw.oppilaitosKoodi),
    officeCode: text(raw.toimipistekoodi),
    parentOid: text(raw.parentOid),
    parentOidPath: text(raw.parentOidPath),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (org as unknown as Record<string, unknown>)[key] = value;
  }
  return Object.freeze(org);
}

/**
 * Zod issues as `path: message` lines, with paths written the way a person would look them up in
 * the JSON (`organisations[3].nimi`).
 */
export function describeIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), prefix);
    return `${path || '(root)'}: ${issue.message}`;
  });
}
