import { z } from 'zod';

/** The canonical source attributes (spec §3) every directory's claims are mapped onto. */
export const SOURCE_ATTRIBUTES = [
  'username',
  'firstName',
  'surname',
  'nickname',
  'learnerId',
  'schoolIds',
  'groups',
  'groupLevels',
  'roles',
  'learningMaterialsCharges',
] as const;
export type SourceAttribute = (typeof SOURCE_ATTRIBUTES)[number];

/**
 * What a directory said, per source attribute: the list of values, or `malformed` when the claim had a
 * shape no value can be read from (an object, a nested array). Absent means the directory sent nothing.
 */
export type SourceValues = Partial<Record<SourceAttribute, string[] | 'malformed'>>;

const claimNames = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** Per-directory mapping: which of its claims carries each source attribute (first present wins). */
export const attributeMappingSchema = z
  .object(Object.fromEntries(SOURCE_ATTRIBUTES.map((a) => [a, claimNames.optional()])) as Record<SourceAttribute, z.ZodOptional<typeof claimNames>>)
  .strict()
  .describe('Directory claim name(s) for each source attribute; unset ones use the default names');
export type AttributeMappingInput = z.infer<typeof attributeMappingSchema>;
export type AttributeMapping = Record<SourceAttribute, string[]>;

/** Claim names of the bundled test directory, and the defaults for any directory. */
export const DEFAULT_MAPPING: AttributeMapping = {
  username: ['sub'],
  firstName: ['given_name'],
  surname: ['family_name'],
  nickname: ['nickname'],
  learnerId: ['learner_id'],
  schoolIds: ['school_codes'],
  groups: ['groups'],
  groupLevels: ['group_levels'],
  roles: ['roles'],
  learningMaterialsCharges: ['learning_materials_charges'],
};

export function resolveMapping(input: AttributeMappingInput = {}): AttributeMapping {
  const mapping = { ...DEFAULT_MAPPING };
  for (const attribute of SOURCE_ATTRIBUTES) {
    const names = input[attribute];
    if (names !== undefined) mapping[attribute] = Array.isArray(names) ? names : [names];
  }
  return mapping;
}

/**
 * Reads one claim's values. A JSON array or one string with `;`-separated values (Entra, ADFS and
 * Google send lists that way); a value never contains `;`. Empty values are no values.
 */
export function splitValues(raw: unknown): string[] | 'malformed' {
  const parts: string[] = [];
  const add = (value: unknown): boolean => {
    if (typeof value === 'string') {
      for (const piece of value.split(';')) if (piece.trim() !== '') parts.push(piece.trim());
      return true;
    }
    if (typeof value === 'number' && Number.isFinite(value)) {
      parts.push(String(value));
      return true;
    }
    return value === null || value === undefined;
  };
  if (Array.isArray(raw)) {
    for (const item of raw) if (!add(item)) return 'malformed';
  } else if (!add(raw)) return 'malformed';
  return parts;
}

/** Maps a directory's raw claims onto the source attributes. Pure; nothing is validated here. */
export function mapAttributes(raw: Record<string, unknown>, mapping: AttributeMapping): SourceValues {
  const values: SourceValues = {};
  for (const attribute of SOURCE_ATTRIBUTES) {
    const name = mapping[attribute].find((n) => Object.hasOwn(raw, n) && raw[n] !== null && raw[n] !== undefined);
    if (name !== undefined) values[attribute] = splitValues(raw[name]);
  }
  return values;
}
