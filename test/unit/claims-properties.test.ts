import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULT_MAPPING, mapAttributes } from '../../src/claims/attributes.js';
import { CLAIM, MULTI_VALUED } from '../../src/claims/claim-names.js';
import { NATIONAL_LEARNER_ID, TEST_LEARNER_ID } from '../../src/claims/formats.js';
import { runClaimsPipeline } from '../../src/claims/pipeline.js';
import { DEFAULT_ROLES } from '../../src/config/roles.js';
import { RoleVocabulary } from '../../src/claims/roles.js';
import type { SchoolFacts } from '../../src/claims/validation-table.js';

const PROVIDER = { providerOid: '1.2.246.562.99.00000000001', providerName: 'Mansikkalan testi kunta' };
const ACTIVE: SchoolFacts[] = [
  { code: '30076', oid: '1.2.246.562.99.00000000002', name: 'Mansikkalan testi peruskoulu', active: true, ...PROVIDER },
  { code: '30078', oid: '1.2.246.562.99.00000000004', name: 'Mansikkalan testilukio', active: true, ...PROVIDER },
];
const CLOSED: SchoolFacts = { code: '30077', oid: '1.2.246.562.99.00000000003', name: 'Lakkautettu', active: false, ...PROVIDER };
const SCHOOLS = new Map<string, SchoolFacts | undefined>([
  ...ACTIVE.flatMap(
    (s): Array<[string, SchoolFacts]> => [
      [s.code, s],
      [s.oid, s],
    ],
  ),
  ['30077', CLOSED],
]);
const ACTIVE_CODES = new Set(ACTIVE.map((s) => s.code));
const ACTIVE_OIDS = new Set(ACTIVE.map((s) => s.oid));
const ACTIVE_NAMES = new Set(ACTIVE.map((s) => s.name));
const ROLE_TEXTS = new Map(DEFAULT_ROLES.map((r) => [r.text, r.code]));
const vocabulary = new RoleVocabulary();

/** Values a directory might send for one attribute: good ones, bad ones and odd shapes. */
const oneOf = (...values: string[]) => fc.constantFrom(...values);
const randomText = fc.string({ maxLength: 12 });
const valueArb = (good: fc.Arbitrary<string>) => fc.oneof(good, randomText, oneOf('', ' ', ';', 'a;b'));
const claimArb = (good: fc.Arbitrary<string>) =>
  fc.option(
    fc.oneof(
      valueArb(good),
      fc.array(valueArb(good), { maxLength: 4 }),
      fc.array(valueArb(good), { maxLength: 3 }).map((v) => v.join(';')),
      fc.integer({ min: -3, max: 30 }),
      fc.constant({ nested: 'object' } as unknown as string),
    ),
    { nil: undefined },
  );

const learnerArb = fc.oneof(
  fc.stringMatching(/^1\.2\.246\.562\.24\.\d{11}$/),
  fc.stringMatching(/^1\.2\.246\.562\.98\.\d{11}$/),
  fc.stringMatching(/^1\.2\.246\.562\.2[0-9]\.\d{9,12}$/),
);
const rawAttributes = fc.record({
  sub: claimArb(fc.stringMatching(/^[a-z0-9_]{1,12}$/)),
  given_name: claimArb(oneOf('Aino', 'Åsa', 'Öhman')),
  family_name: claimArb(oneOf('Mansikka', 'Väänänen')),
  nickname: claimArb(oneOf('Ainska')),
  learner_id: claimArb(learnerArb),
  school_codes: claimArb(oneOf('30076', '30078', '30077', '99999', '1.2.246.562.99.00000000002', '1.2.246.562.99.00000000004', 'x')),
  groups: claimArb(oneOf('9F', '2A', '7B')),
  group_levels: claimArb(oneOf('0', '7', '9', '10', '9.5', 'ysi', '-1')),
  roles: claimArb(oneOf('oppilas', 'OPETTAJA', 'Lärare', 'rehtori', 'huoltaja', 'guardian', 'staff')),
  learning_materials_charges: claimArb(oneOf('0', '1', '2', 'maksullinen')),
});

function assertOnlyValidValues(claims: Record<string, unknown>, allowTest: boolean): void {
  for (const [name, value] of Object.entries(claims)) {
    if (MULTI_VALUED.has(name as never)) {
      expect(Array.isArray(value)).toBe(true);
      expect((value as string[]).length).toBeGreaterThan(0);
      for (const v of value as string[]) expect(v).not.toBe('');
    } else {
      expect(typeof value).toBe('string');
      expect(value).not.toBe('');
    }
  }
  const learner = claims[CLAIM.learnerId] as string;
  expect(NATIONAL_LEARNER_ID.test(learner) || (allowTest && TEST_LEARNER_ID.test(learner))).toBe(true);
  if (claims[CLAIM.classLevel] !== undefined) expect(claims[CLAIM.classLevel]).toMatch(/^\d{1,2}$/);
  for (const code of (claims[CLAIM.schoolCode] as string[] | undefined) ?? []) expect(ACTIVE_CODES.has(code)).toBe(true);
  for (const name of (claims[CLAIM.school] as string[] | undefined) ?? []) expect(ACTIVE_NAMES.has(name)).toBe(true);
  for (const info of (claims[CLAIM.schoolInfo] as string[] | undefined) ?? []) {
    const [id, name] = info.split(';');
    expect(ACTIVE_CODES.has(id!) || ACTIVE_OIDS.has(id!)).toBe(true);
    expect(ACTIVE_NAMES.has(name!)).toBe(true);
  }
  for (const provider of (claims[CLAIM.educationProviderId] as string[] | undefined) ?? []) expect(provider).toBe(PROVIDER.providerOid);
  for (const role of (claims[CLAIM.role] as string[] | undefined) ?? []) {
    const fields = role.split(';');
    expect(fields).toHaveLength(7);
    const [providerOid, code, group, text, roleCode, schoolOid, officeOid] = fields;
    expect(providerOid).toBe(PROVIDER.providerOid);
    expect(ACTIVE_CODES.has(code!)).toBe(true);
    expect(ACTIVE_OIDS.has(schoolOid!)).toBe(true);
    expect(ROLE_TEXTS.get(text!)).toBe(roleCode);
    expect(group).not.toContain(';');
    expect(officeOid).toBe('');
  }
  for (const charge of (claims[CLAIM.learningMaterialsCharge] as string[] | undefined) ?? []) {
    const [value, id] = charge.split(';');
    expect(['0', '1']).toContain(value);
    expect(ACTIVE_CODES.has(id!) || ACTIVE_OIDS.has(id!)).toBe(true);
  }
}

describe('claims pipeline properties (arbitrary directory attributes)', () => {
  it('never releases an invalid value, and never releases anything without a unique id and a valid learner number', () => {
    fc.assert(
      fc.property(rawAttributes, fc.boolean(), (raw, allowTest) => {
        const values = mapAttributes(raw as Record<string, unknown>, DEFAULT_MAPPING);
        const result = runClaimsPipeline({
          directoryId: 'test-school',
          values,
          schools: SCHOOLS,
          roles: vocabulary,
          allowTestLearnerIds: allowTest,
          originalIssuer: 'https://directory.example',
          uidSalt: 's'.repeat(32),
        });
        const usernames = Array.isArray(values.username) ? values.username : [];
        const learners = Array.isArray(values.learnerId) ? values.learnerId : [];
        const validLearner = learners.length === 1 && (NATIONAL_LEARNER_ID.test(learners[0]!) || (allowTest && TEST_LEARNER_ID.test(learners[0]!)));
        if (usernames.length !== 1 || !validLearner) {
          expect(result.ok).toBe(false);
          return;
        }
        expect(result.ok).toBe(true);
        if (result.ok) assertOnlyValidValues(result.claims as Record<string, unknown>, allowTest);
      }),
      { numRuns: 2000 },
    );
  });
});
