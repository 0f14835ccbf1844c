import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLAIM } from '../../src/claims/claim-names.js';
import { deepLinkLogin, RP_REDIRECT, signInAtDirectory, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { RelyingParty } from '../support/relying-party.js';
import { linksWithText, UserAgent } from '../support/user-agent.js';

const MANSIKKALA = '1.2.246.562.99.00000000001';
const TEST_SCHOOL = '1.2.246.562.99.00000000002';
const LUKIO = '1.2.246.562.99.00000000005';
const OFFICE = '1.2.246.562.99.00000000003';
const PROVIDER_INFO = [`${MANSIKKALA};Mansikkalan testi kunta`];
const SCHOOL_INFO = ['30076;Mansikkalan testi peruskoulu', `${TEST_SCHOOL};Mansikkalan testi peruskoulu`];
const learner = (n: number) => `1.2.246.562.24.${String(10000000000 + n).padStart(11, '0')}`;

/** The claims every catalogue user gets whatever else is dropped. */
const base = (n: number) => ({ [CLAIM.learnerId]: learner(n) });
const SCHOOL_DEPENDENT = [
  CLAIM.schoolInfo,
  CLAIM.educationProviderInfo,
  CLAIM.role,
  CLAIM.schoolCode,
  CLAIM.school,
  CLAIM.educationProviderId,
  CLAIM.educationProvider,
];

const TEST_CLIENT = {
  client_id: 'test-numbers-service',
  client_secret: 'test-numbers-secret-0123456789abcdef',
  redirect_uris: [RP_REDIRECT],
  allowTestLearnerIds: true,
};

describe('every test catalogue user, end to end through the real directory and a real service', () => {
  let fed: Federation;
  let testNumbersRp: RelyingParty;

  beforeAll(async () => {
    fed = await startFederation({
      config: { clients: [{ client_id: 'learning-service', client_secret: 'learning-service-secret-0123456789', redirect_uris: [RP_REDIRECT] }, TEST_CLIENT] },
    });
    testNumbersRp = await RelyingParty.discover({
      issuer: fed.bridge.issuer,
      clientId: TEST_CLIENT.client_id,
      clientSecret: TEST_CLIENT.client_secret,
      redirectUri: RP_REDIRECT,
    });
  });
  afterAll(async () => {
    await fed?.stop();
  });

  async function claimsOf(username: string, rp = fed.rp) {
    const agent = new UserAgent();
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const done = await signInAtDirectory(agent, login, username);
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    const tokens = await rp.redeem(done.url, request);
    const idToken = tokens.claims()!;
    const userinfo = await rp.userinfo(tokens.access_token, idToken.sub);
    // The same claims in both places.
    const { iss: _i, aud: _a, exp: _e, iat: _t, nonce: _n, auth_time: _at, sid: _s, at_hash: _h, acr: _c, ...released } = idToken;
    expect(userinfo).toEqual(released);
    return userinfo as Record<string, unknown>;
  }

  async function expectBlocked(username: string, missingText: string) {
    const agent = new UserAgent('en');
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, ui_locales: 'en' });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const page = await signInAtDirectory(agent, login, username);
    expect(page.status).toBe(400);
    expect(page.body).toContain(missingText);
    const back = await agent.navigate(linksWithText(page, 'Return to the service')[0]!, { stopAt: RP_REDIRECT });
    expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
  }

  it('pupil-complete: a complete pupil gets every claim', async () => {
    const claims = await claimsOf('pupil-complete');
    expect(claims).toEqual({
      sub: expect.any(String),
      given_name: 'Aino',
      family_name: 'Mansikka',
      [CLAIM.nickname]: 'Ainska',
      [CLAIM.uid]: expect.stringMatching(/^MPASSOID\./),
      [CLAIM.originalIssuer]: fed.directoryIdp.issuer,
      ...base(1),
      [CLAIM.classLevel]: '9',
      [CLAIM.class]: ['9F'],
      [CLAIM.schoolInfo]: SCHOOL_INFO,
      [CLAIM.educationProviderInfo]: PROVIDER_INFO,
      [CLAIM.role]: [`${MANSIKKALA};30076;9F;Oppilas;1;${TEST_SCHOOL};`],
      [CLAIM.learningMaterialsCharge]: ['1;30076', `1;${TEST_SCHOOL}`],
      [CLAIM.schoolCode]: ['30076'],
      [CLAIM.school]: ['Mansikkalan testi peruskoulu'],
      [CLAIM.educationProviderId]: [MANSIKKALA],
      [CLAIM.educationProvider]: ['Mansikkalan testi kunta'],
    });
  });

  it('teacher: a teacher', async () => {
    const claims = await claimsOf('teacher');
    expect(claims[CLAIM.role]).toEqual([`${MANSIKKALA};30076;;Opettaja;2;${TEST_SCHOOL};`]);
    expect(claims[CLAIM.classLevel]).toBeUndefined();
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['0;30076', `0;${TEST_SCHOOL}`]);
  });

  it('pupil-two-schools: a pupil of two schools', async () => {
    const claims = await claimsOf('pupil-two-schools');
    expect(claims[CLAIM.role]).toEqual([`${MANSIKKALA};30076;9F;Oppilas;1;${TEST_SCHOOL};`, `${MANSIKKALA};30078;1A;Oppilas;1;${LUKIO};`]);
    expect(claims[CLAIM.schoolInfo]).toEqual([...SCHOOL_INFO, '30078;Mansikkalan testi lukio', `${LUKIO};Mansikkalan testi lukio`]);
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['1;30076', `1;${TEST_SCHOOL}`, '0;30078', `0;${LUKIO}`]);
    expect(claims[CLAIM.educationProviderInfo]).toEqual(PROVIDER_INFO);
  });

  it('pupil-school-office: a pupil at an office is named with the office OID', async () => {
    const claims = await claimsOf('pupil-school-office');
    expect(claims[CLAIM.role]).toEqual([`${MANSIKKALA};30076;9F;Oppilas;1;${TEST_SCHOOL};${OFFICE}`]);
    expect(claims[CLAIM.schoolCode]).toEqual(['30076']);
  });

  it.each([
    ['no-school-code', 5],
    ['unknown-school', 6],
    ['closed-school', 7],
  ])('%s: missing, unknown or closed school → no school-dependent claims', async (username, n) => {
    const claims = await claimsOf(username);
    for (const name of [...SCHOOL_DEPENDENT, CLAIM.learningMaterialsCharge]) expect(claims[name]).toBeUndefined();
    expect(claims[CLAIM.learnerId]).toBe(learner(n));
    expect(claims[CLAIM.classLevel]).toBe('9');
  });

  it('blocked-no-learner-id and blocked-bad-learner-id: missing or malformed learner number blocks the login', async () => {
    await expectBlocked('blocked-no-learner-id', 'the national learner number');
    await expectBlocked('blocked-bad-learner-id', 'a valid national learner number');
  });

  it('test-learner-id: a test learner number only for a service allowed it', async () => {
    await expectBlocked('test-learner-id', 'a valid national learner number');
    const claims = await claimsOf('test-learner-id', testNumbersRp);
    expect(claims[CLAIM.learnerId]).toBe('1.2.246.562.98.10000000010');
  });

  it('a test learner number is not handed to another service through SSO either', async () => {
    const agent = new UserAgent('en');
    const first = await deepLinkLogin({ ...fed, rp: testNumbersRp }, agent, 'test-learner-id');
    await testNumbersRp.redeem(first.callback, first.request);
    const request = await fed.rp.authorizationRequest({ ui_locales: 'en' });
    const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(page.status).toBe(400);
    expect(page.body).toContain('a valid national learner number');
  });

  it.each(['no-role', 'guardian-role'])('%s: missing or disallowed role → no role, school or provider claims', async (username) => {
    const claims = await claimsOf(username);
    for (const name of SCHOOL_DEPENDENT) expect(claims[name]).toBeUndefined();
    expect(claims[CLAIM.learningMaterialsCharge]).toBeDefined();
  });

  it.each([['no-class-level'], ['bad-class-level']])('%s: missing or non-integer class level → no classLevel', async (username) => {
    const claims = await claimsOf(username);
    expect(claims[CLAIM.classLevel]).toBeUndefined();
    expect(claims[CLAIM.role]).toBeDefined();
  });

  it('no-class to no-given-name: missing class, charge, nickname or given name; invalid charge', async () => {
    expect((await claimsOf('no-class'))[CLAIM.role]).toEqual([`${MANSIKKALA};30076;;Oppilas;1;${TEST_SCHOOL};`]);
    expect((await claimsOf('no-charge'))[CLAIM.learningMaterialsCharge]).toBeUndefined();
    expect((await claimsOf('bad-charge'))[CLAIM.learningMaterialsCharge]).toBeUndefined();
    expect((await claimsOf('no-nickname'))[CLAIM.nickname]).toBeUndefined();
    const noGiven = await claimsOf('no-given-name');
    expect(noGiven.given_name).toBeUndefined();
    expect(noGiven.family_name).toBe('Mansikka');
  });

  it('nordic-letters: names with å, ä and ö', async () => {
    const claims = await claimsOf('nordic-letters');
    expect([claims.given_name, claims.family_name]).toEqual(['Åsa', 'Öhman-Väänänen']);
  });

  it('lists-mismatch: lists that do not line up → no multi-valued claims', async () => {
    const claims = await claimsOf('lists-mismatch');
    for (const name of [...SCHOOL_DEPENDENT, CLAIM.learningMaterialsCharge, CLAIM.class]) expect(claims[name]).toBeUndefined();
    expect(claims[CLAIM.classLevel]).toBe('9');
  });

  it('semicolon-lists: ;-separated values across two providers', async () => {
    const claims = await claimsOf('semicolon-lists');
    expect(claims[CLAIM.schoolCode]).toEqual(['30076', '30080']);
    expect(claims[CLAIM.educationProviderInfo]).toEqual([...PROVIDER_INFO, '1.2.246.562.99.00000000010;Ääkkölän testikaupunki']);
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['0;30076', `0;${TEST_SCHOOL}`, '1;30080', '1;1.2.246.562.99.00000000011']);
  });

  it('principal-swedish-school: a principal of a Swedish-language school (name in Swedish)', async () => {
    const claims = await claimsOf('principal-swedish-school');
    expect(claims[CLAIM.role]).toEqual(['1.2.246.562.99.00000000010;30081;;Rehtori;6;1.2.246.562.99.00000000012;']);
    expect(claims[CLAIM.school]).toEqual(['Åkerö testskola']);
  });

  it('school-by-oid: a school given as an organisation OID', async () => {
    expect((await claimsOf('school-by-oid'))[CLAIM.schoolInfo]).toEqual(SCHOOL_INFO);
  });
});
