import { describe, expect, it } from '@jest/globals';
import { mapAttributes, DEFAULT_MAPPING, splitValues, resolveMapping, type SourceValues } from '../../src/claims/attributes.js';
import { CLAIM } from '../../src/claims/claim-names.js';
import { mpassUid, runClaimsPipeline, type PipelineInput } from '../../src/claims/pipeline.js';
import { RoleVocabulary } from '../../src/claims/roles.js';
import type { SchoolFacts } from '../../src/claims/validation-table.js';

const SALT = 'u'.repeat(32);
const PROVIDER = { providerOid: '1.2.246.562.99.00000000001', providerName: 'Mansikkalan testi kunta' };
const TEST_SCHOOL: SchoolFacts = { code: '30076', oid: '1.2.246.562.99.00000000002', name: 'Mansikkalan testi peruskoulu', active: true, ...PROVIDER };
const SECOND_SCHOOL: SchoolFacts = { code: '30078', oid: '1.2.246.562.99.00000000004', name: 'Mansikkalan testilukio', active: true, ...PROVIDER };
const CLOSED_SCHOOL: SchoolFacts = { code: '30077', oid: '1.2.246.562.99.00000000003', name: 'Lakkautettu koulu', active: false, ...PROVIDER };
const OFFICE: SchoolFacts = { ...TEST_SCHOOL, officeOid: '1.2.246.562.99.00000000010' };
const SCHOOLS = new Map<string, SchoolFacts | undefined>([
  ['30076', TEST_SCHOOL],
  ['1.2.246.562.99.00000000002', TEST_SCHOOL],
  ['30078', SECOND_SCHOOL],
  ['30077', CLOSED_SCHOOL],
  ['3007601', OFFICE],
  ['99999', undefined],
]);
const LEARNER = '1.2.246.562.24.10000000001';
const ISSUER = 'https://test-directory.example';

/** A complete pupil of the test school (spec §7 worked example). */
const PUPIL = {
  sub: 'pupil-complete',
  given_name: 'Aino',
  family_name: 'Mansikka',
  nickname: 'Ainska',
  learner_id: LEARNER,
  school_codes: '30076',
  groups: '9F',
  group_levels: '9',
  roles: 'oppilas',
  learning_materials_charges: '1',
};

function run(raw: Record<string, unknown>, overrides: Partial<PipelineInput> = {}) {
  return runClaimsPipeline({
    directoryId: 'test-school',
    values: mapAttributes(raw, DEFAULT_MAPPING),
    schools: SCHOOLS,
    roles: new RoleVocabulary(),
    allowTestLearnerIds: false,
    originalIssuer: ISSUER,
    uidSalt: SALT,
    ...overrides,
  });
}

function claimsOf(raw: Record<string, unknown>, overrides: Partial<PipelineInput> = {}) {
  const result = run(raw, overrides);
  if (!result.ok) throw new Error(`blocked: ${result.reason}`);
  return result.claims;
}

const SCHOOL_CLAIMS_OF_PUPIL = {
  [CLAIM.schoolCode]: ['30076'],
  [CLAIM.school]: ['Mansikkalan testi peruskoulu'],
  [CLAIM.schoolInfo]: ['30076;Mansikkalan testi peruskoulu', '1.2.246.562.99.00000000002;Mansikkalan testi peruskoulu'],
  [CLAIM.educationProviderId]: ['1.2.246.562.99.00000000001'],
  [CLAIM.educationProvider]: ['Mansikkalan testi kunta'],
  [CLAIM.educationProviderInfo]: ['1.2.246.562.99.00000000001;Mansikkalan testi kunta'],
  [CLAIM.role]: ['1.2.246.562.99.00000000001;30076;9F;Oppilas;1;1.2.246.562.99.00000000002;'],
};

const BASE_CLAIMS = {
  [CLAIM.uid]: mpassUid(SALT, 'test-school', 'pupil-complete'),
  [CLAIM.learnerId]: LEARNER,
  [CLAIM.originalIssuer]: ISSUER,
  [CLAIM.givenName]: 'Aino',
  [CLAIM.familyName]: 'Mansikka',
  [CLAIM.nickname]: 'Ainska',
  [CLAIM.classLevel]: '9',
  [CLAIM.class]: ['9F'],
};

describe('reading directory values', () => {
  it('accepts arrays and ;-separated strings, and skips empty values', () => {
    expect(splitValues(['a', 'b'])).toEqual(['a', 'b']);
    expect(splitValues('a;b; ;c')).toEqual(['a', 'b', 'c']);
    expect(splitValues(['a;b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(splitValues(9)).toEqual(['9']);
    expect(splitValues('')).toEqual([]);
    expect(splitValues({ a: 1 })).toBe('malformed');
    expect(splitValues([['nested']])).toBe('malformed');
  });
  it('maps per-directory claim names, first present name winning', () => {
    const mapping = resolveMapping({ username: ['employeeId', 'sub'], roles: 'eduPersonAffiliation' });
    const values: SourceValues = mapAttributes({ sub: 'x', eduPersonAffiliation: 'teacher;staff' }, mapping);
    expect(values.username).toEqual(['x']);
    expect(values.roles).toEqual(['teacher', 'staff']);
    expect(values.firstName).toBeUndefined();
  });
});

describe('the validation table, one rule at a time', () => {
  it('delivers the complete pupil exactly as the worked example of the specification', () => {
    expect(claimsOf(PUPIL)).toEqual({
      ...BASE_CLAIMS,
      ...SCHOOL_CLAIMS_OF_PUPIL,
      [CLAIM.learningMaterialsCharge]: ['1;30076', '1;1.2.246.562.99.00000000002'],
    });
  });

  it('delivers nothing when the unique id is missing', () => {
    const result = run({ ...PUPIL, sub: undefined });
    expect(result).toMatchObject({ ok: false, reason: 'username_missing' });
    expect(run({ ...PUPIL, sub: 'a;b' })).toMatchObject({ ok: false, reason: 'username_missing' });
  });

  it.each([
    ['missing', undefined, 'learner_id_missing'],
    ['malformed', '1.2.246.562.24.1234', 'learner_id_invalid'],
    ['of another node', '1.2.246.562.10.12345678901', 'learner_id_invalid'],
    ['with trailing text', `${LEARNER}x`, 'learner_id_invalid'],
    ['two values', `${LEARNER};1.2.246.562.24.10000000002`, 'learner_id_invalid'],
    ['a test number for a client not allowed them', '1.2.246.562.98.10000000001', 'learner_id_invalid'],
  ])('blocks the login when the learner number is %s', (_case, learnerId, reason) => {
    expect(run({ ...PUPIL, learner_id: learnerId })).toMatchObject({ ok: false, reason });
  });

  it('accepts a test learner number for a client allowed them, and does not verify the check digit', () => {
    const result = run({ ...PUPIL, learner_id: '1.2.246.562.98.10000000001' }, { allowTestLearnerIds: true });
    expect(result).toMatchObject({ ok: true, learnerIdKind: 'test' });
    expect(run({ ...PUPIL, learner_id: '1.2.246.562.24.99999999999' })).toMatchObject({ ok: true, learnerIdKind: 'national' });
  });

  it.each([
    ['missing', undefined],
    ['unknown to the registry', '99999'],
    ['closed', '30077'],
  ])('drops every school-dependent claim when the school code is %s', (_case, code) => {
    expect(claimsOf({ ...PUPIL, school_codes: code })).toEqual(BASE_CLAIMS);
  });

  it.each([
    ['missing', undefined],
    ['not allowed (guardian)', 'huoltaja'],
  ])('drops role, school and provider claims when the role is %s, keeping the charge', (_case, role) => {
    expect(claimsOf({ ...PUPIL, roles: role })).toEqual({
      ...BASE_CLAIMS,
      [CLAIM.learningMaterialsCharge]: ['1;30076', '1;1.2.246.562.99.00000000002'],
    });
  });

  it('accepts roles case-insensitively in Finnish, Swedish and English', () => {
    for (const [input, text, code] of [
      ['OPETTAJA', 'Opettaja', '2'],
      ['Lärare', 'Opettaja', '2'],
      ['Principal', 'Rehtori', '6'],
      ['inlärare', 'Oppilas', '1'],
    ]) {
      const claims = claimsOf({ ...PUPIL, roles: input });
      expect(claims[CLAIM.role]).toEqual([`1.2.246.562.99.00000000001;30076;9F;${text};${code};1.2.246.562.99.00000000002;`]);
    }
  });

  it.each([
    ['missing', undefined],
    ['not an integer', 'yhdeksäs'],
    ['a decimal', '9.5'],
  ])('drops only the class level when it is %s', (_case, level) => {
    const claims = claimsOf({ ...PUPIL, group_levels: level });
    expect(claims[CLAIM.classLevel]).toBeUndefined();
    expect(claims[CLAIM.role]).toEqual(SCHOOL_CLAIMS_OF_PUPIL[CLAIM.role]);
  });

  it.each([
    ['missing', undefined],
    ['invalid', '2'],
    ['text', 'maksullinen'],
  ])('drops only the charge when it is %s', (_case, charge) => {
    expect(claimsOf({ ...PUPIL, learning_materials_charges: charge })).toEqual({ ...BASE_CLAIMS, ...SCHOOL_CLAIMS_OF_PUPIL });
  });

  it('delivers everything else without missing names and class', () => {
    const claims = claimsOf({ ...PUPIL, given_name: undefined, nickname: undefined, family_name: '', groups: undefined });
    expect(claims[CLAIM.givenName]).toBeUndefined();
    expect(claims[CLAIM.familyName]).toBeUndefined();
    expect(claims[CLAIM.nickname]).toBeUndefined();
    expect(claims[CLAIM.class]).toBeUndefined();
    expect(claims[CLAIM.role]).toEqual(['1.2.246.562.99.00000000001;30076;;Oppilas;1;1.2.246.562.99.00000000002;']);
  });

  it('passes names with å, ä and ö through unchanged', () => {
    const claims = claimsOf({ ...PUPIL, given_name: 'Åsa', family_name: 'Öhman-Väänänen' });
    expect(claims[CLAIM.givenName]).toBe('Åsa');
    expect(claims[CLAIM.familyName]).toBe('Öhman-Väänänen');
  });

  it('names the office in the role of a user at an office, with the school code of its school', () => {
    const claims = claimsOf({ ...PUPIL, school_codes: '3007601' });
    expect(claims[CLAIM.role]).toEqual(['1.2.246.562.99.00000000001;30076;9F;Oppilas;1;1.2.246.562.99.00000000002;1.2.246.562.99.00000000010']);
    expect(claims[CLAIM.schoolCode]).toEqual(['30076']);
  });

  it('accepts an organisation OID as the school identifier', () => {
    expect(claimsOf({ ...PUPIL, school_codes: '1.2.246.562.99.00000000002' })[CLAIM.schoolInfo]).toEqual(SCHOOL_CLAIMS_OF_PUPIL[CLAIM.schoolInfo]);
  });
});

describe('multi-school users', () => {
  it('matches N classes, roles and charges to N schools by position', () => {
    const claims = claimsOf({ ...PUPIL, school_codes: ['30076', '30078'], groups: '9F;2A', roles: 'oppilas;opettaja', learning_materials_charges: '1;0' });
    expect(claims[CLAIM.role]).toEqual([
      '1.2.246.562.99.00000000001;30076;9F;Oppilas;1;1.2.246.562.99.00000000002;',
      '1.2.246.562.99.00000000001;30078;2A;Opettaja;2;1.2.246.562.99.00000000004;',
    ]);
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['1;30076', '1;1.2.246.562.99.00000000002', '0;30078', '0;1.2.246.562.99.00000000004']);
    expect(claims[CLAIM.educationProviderInfo]).toEqual(['1.2.246.562.99.00000000001;Mansikkalan testi kunta']);
    expect(claims[CLAIM.schoolCode]).toEqual(['30076', '30078']);
  });

  it('applies one role and charge to every school, but a single class only to the first', () => {
    const claims = claimsOf({ ...PUPIL, school_codes: '30076;30078' });
    expect(claims[CLAIM.role]).toEqual([
      '1.2.246.562.99.00000000001;30076;9F;Oppilas;1;1.2.246.562.99.00000000002;',
      '1.2.246.562.99.00000000001;30078;;Oppilas;1;1.2.246.562.99.00000000004;',
    ]);
    expect(claims[CLAIM.learningMaterialsCharge]).toHaveLength(4);
  });

  it('delivers none of the multi-valued claims when the lists do not line up', () => {
    const claims = claimsOf({ ...PUPIL, school_codes: '30076;30078', roles: 'oppilas;opettaja;rehtori' });
    expect(claims).toEqual({
      [CLAIM.uid]: BASE_CLAIMS[CLAIM.uid],
      [CLAIM.learnerId]: LEARNER,
      [CLAIM.originalIssuer]: ISSUER,
      [CLAIM.givenName]: 'Aino',
      [CLAIM.familyName]: 'Mansikka',
      [CLAIM.nickname]: 'Ainska',
      [CLAIM.classLevel]: '9',
    });
  });

  it('drops only the values of an unresolved school and delivers the others', () => {
    const claims = claimsOf({ ...PUPIL, school_codes: '99999;30078', groups: '9F;2A', roles: 'oppilas;opettaja', learning_materials_charges: '1;0' });
    expect(claims[CLAIM.schoolCode]).toEqual(['30078']);
    expect(claims[CLAIM.role]).toEqual(['1.2.246.562.99.00000000001;30078;2A;Opettaja;2;1.2.246.562.99.00000000004;']);
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['0;30078', '0;1.2.246.562.99.00000000004']);
  });

  it('drops only the values of a school whose role is not allowed', () => {
    const claims = claimsOf({ ...PUPIL, school_codes: '30076;30078', roles: 'huoltaja;opettaja' });
    expect(claims[CLAIM.role]).toEqual(['1.2.246.562.99.00000000001;30078;;Opettaja;2;1.2.246.562.99.00000000004;']);
    expect(claims[CLAIM.schoolCode]).toEqual(['30078']);
    expect(claims[CLAIM.learningMaterialsCharge]).toHaveLength(4);
  });
});

describe('the report', () => {
  it('names the rules that failed and never the values', () => {
    const result = run({ ...PUPIL, roles: 'huoltaja', group_levels: 'x' });
    expect(result.ok).toBe(true);
    const failed = result.report.filter((r) => r.status !== 'ok').map((r) => [r.id, r.status, r.effect]);
    expect(failed).toEqual([
      ['roles', 'invalid', 'dropped'],
      ['groupLevels', 'invalid', 'dropped'],
    ]);
    expect(JSON.stringify(result.report)).not.toMatch(/huoltaja|Aino|pupil-complete|1\.2\.246\.562\.24/);
  });
});
