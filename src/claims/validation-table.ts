import type { SourceAttribute, SourceValues } from './attributes.js';
import { CLAIM, type ClaimName } from './claim-names.js';
import { CHARGE, CLASS_LEVEL, learnerIdKind } from './formats.js';
import type { RoleVocabulary } from './roles.js';

/** What the registry says about one school identifier the directory sent. */
export interface SchoolFacts {
  /** 5-digit school code (oppilaitoskoodi). */
  code: string;
  oid: string;
  name: string;
  /** When the directory named an office (toimipiste) of the school. */
  officeOid?: string;
  providerOid: string;
  providerName: string;
  active: boolean;
}

/** Everything a rule may look at. Schools are resolved before the (pure) table runs. */
interface RuleInput {
  values: SourceValues;
  schoolIds: string[];
  schools: ReadonlyMap<string, SchoolFacts | undefined>;
  roles: RoleVocabulary;
  allowTestLearnerIds: boolean;
}

export type Status = 'ok' | 'missing' | 'invalid';

/** A rule's verdict: overall, and for per-school rules one verdict per school (by position). */
interface Verdict {
  status: Status;
  perSchool?: Status[];
}

type OnFailure = { kind: 'block'; reason: BlockReason } | { kind: 'drop'; claims: readonly ClaimName[] } | { kind: 'deliver-without' };

export type BlockReason = 'username_missing' | 'learner_id_missing' | 'learner_id_invalid';

export interface Rule {
  id: string;
  attribute: SourceAttribute;
  mandatory: boolean;
  /** The rule in words, as shown to operators. */
  rule: string;
  check(input: RuleInput): Verdict;
  onFailure: OnFailure;
}

const SCHOOL_DEPENDENT = [CLAIM.school, CLAIM.schoolInfo, CLAIM.role, CLAIM.educationProviderId, CLAIM.educationProvider, CLAIM.educationProviderInfo] as const;
const MULTI_VALUED_CLAIMS = [
  CLAIM.role,
  CLAIM.schoolInfo,
  CLAIM.educationProviderInfo,
  CLAIM.learningMaterialsCharge,
  CLAIM.schoolCode,
  CLAIM.school,
  CLAIM.class,
  CLAIM.educationProviderId,
  CLAIM.educationProvider,
] as const;

/** The values of an attribute, or undefined when absent or unreadable. */
export function valuesOf(values: SourceValues, attribute: SourceAttribute): string[] | undefined {
  const v = values[attribute];
  return Array.isArray(v) ? v : undefined;
}

const presence = (values: SourceValues, attribute: SourceAttribute): Status | undefined => {
  const v = values[attribute];
  if (v === 'malformed') return 'invalid';
  if (v === undefined || v.length === 0) return 'missing';
  return undefined;
};

/**
 * The value of a per-school list for school i (spec §4, multi-school users): N values are matched by
 * position; one value applies to every school, except a single class, which belongs to the first.
 */
export function alignedValue(list: string[] | undefined, schoolCount: number, index: number, firstOnly = false): string | undefined {
  if (!list || list.length === 0) return undefined;
  if (list.length === schoolCount) return list[index];
  if (list.length === 1) return firstOnly && index > 0 ? undefined : list[0];
  return undefined;
}

const aligned = (list: string[] | undefined, n: number): boolean => !list || list.length === 0 || list.length === 1 || list.length === n;

function perSchool(input: RuleInput, verdict: (index: number) => Status): Verdict {
  const perSchoolStatus = input.schoolIds.map((_, index) => verdict(index));
  const status = perSchoolStatus.length === 0 ? 'missing' : (perSchoolStatus.find((s) => s !== 'ok') ?? 'ok');
  return { status, perSchool: perSchoolStatus };
}

/**
 * A per-school list (roles, charges): each school's aligned value must pass `isValid`. Without schools,
 * every value must.
 */
function perSchoolValues(attribute: SourceAttribute, isValid: (value: string) => boolean): (input: RuleInput) => Verdict {
  return (input) => {
    const absent = presence(input.values, attribute);
    if (absent) return { status: absent, perSchool: input.schoolIds.map(() => absent) };
    const list = valuesOf(input.values, attribute)!;
    if (input.schoolIds.length === 0) return { status: list.every(isValid) ? 'ok' : 'invalid' };
    return perSchool(input, (i) => {
      const value = alignedValue(list, input.schoolIds.length, i);
      if (value === undefined) return 'missing';
      return isValid(value) ? 'ok' : 'invalid';
    });
  };
}

/**
 * The validation table of spec §4, applied in this order before any token is minted. One row per
 * attribute (and one for the multi-school alignment); `onFailure` says what the row costs.
 */
export const VALIDATION_TABLE: readonly Rule[] = [
  {
    id: 'username',
    attribute: 'username',
    mandatory: true,
    rule: 'present, exactly one non-empty value',
    check: ({ values }) => ({ status: presence(values, 'username') ?? (valuesOf(values, 'username')!.length === 1 ? 'ok' : 'invalid') }),
    onFailure: { kind: 'block', reason: 'username_missing' },
  },
  {
    id: 'learnerId',
    attribute: 'learnerId',
    mandatory: true,
    rule: '1.2.246.562.24. + 11 digits (test numbers 1.2.246.562.98. only for clients allowed them); check digit not verified',
    check: ({ values, allowTestLearnerIds }) => {
      const absent = presence(values, 'learnerId');
      if (absent) return { status: absent };
      const list = valuesOf(values, 'learnerId')!;
      const kind = list.length === 1 ? learnerIdKind(list[0]!) : undefined;
      return { status: kind === 'national' || (kind === 'test' && allowTestLearnerIds) ? 'ok' : 'invalid' };
    },
    onFailure: { kind: 'block', reason: 'learner_id_invalid' },
  },
  {
    id: 'schoolIds',
    attribute: 'schoolIds',
    mandatory: false,
    rule: 'present, and each school active in the national organisation registry',
    check: (input) => {
      const absent = presence(input.values, 'schoolIds');
      if (absent) return { status: absent };
      return perSchool(input, (i) => (input.schools.get(input.schoolIds[i]!)?.active ? 'ok' : 'invalid'));
    },
    // Our rule on top of the seed: the unresolved code and charges keyed by it are not delivered either.
    onFailure: { kind: 'drop', claims: [...SCHOOL_DEPENDENT, CLAIM.schoolCode, CLAIM.learningMaterialsCharge] },
  },
  {
    id: 'alignment',
    attribute: 'schoolIds',
    mandatory: false,
    rule: 'with N schools, classes, roles and charges each have N values, one value or none',
    check: ({ values, schoolIds }) => {
      const n = schoolIds.length;
      const ok = (['groups', 'roles', 'learningMaterialsCharges'] as const).every((a) => values[a] !== 'malformed' && aligned(valuesOf(values, a), n));
      return { status: n <= 1 || ok ? 'ok' : 'invalid' };
    },
    onFailure: { kind: 'drop', claims: MULTI_VALUED_CLAIMS },
  },
  {
    id: 'roles',
    attribute: 'roles',
    mandatory: false,
    rule: 'present, and a value of the role vocabulary (case-insensitive, fi/sv/en)',
    check: (input) => perSchoolValues('roles', (role) => input.roles.resolve(role) !== undefined)(input),
    onFailure: { kind: 'drop', claims: [...SCHOOL_DEPENDENT, CLAIM.schoolCode] },
  },
  {
    id: 'groupLevels',
    attribute: 'groupLevels',
    mandatory: false,
    rule: 'an integer (Statistics Finland grade)',
    check: ({ values }) => ({
      status: presence(values, 'groupLevels') ?? (valuesOf(values, 'groupLevels')!.every((v) => CLASS_LEVEL.test(v)) ? 'ok' : 'invalid'),
    }),
    onFailure: { kind: 'drop', claims: [CLAIM.classLevel] },
  },
  {
    id: 'learningMaterialsCharges',
    attribute: 'learningMaterialsCharges',
    mandatory: false,
    rule: 'exactly 0 (free) or 1 (charged)',
    check: perSchoolValues('learningMaterialsCharges', (charge) => CHARGE.test(charge)),
    onFailure: { kind: 'drop', claims: [CLAIM.learningMaterialsCharge] },
  },
  ...(['surname', 'firstName', 'nickname', 'groups'] as const).map(
    (attribute): Rule => ({
      id: attribute,
      attribute,
      mandatory: false,
      rule: 'no validation',
      check: ({ values }) => ({ status: presence(values, attribute) ?? 'ok' }),
      onFailure: { kind: 'deliver-without' },
    }),
  ),
];
