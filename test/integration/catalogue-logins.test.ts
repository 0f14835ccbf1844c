import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLAIM } from '../../src/claims/claim-names.js';
import { deepLinkLogin, RP_REDIRECT, signInAtDirectory, startFederation, UPSTREAM_ID, type Federation } from '../support/federation.js';
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
const SCHOOL_DEPENDENT = [CLAIM.schoolInfo, CLAIM.educationProviderInfo, CLAIM.role, CLAIM.schoolCode, CLAIM.school, CLAIM.educationProviderId, CLAIM.educationProvider];

const TEST_CLIENT = { client_id: 'test-numbers-service', client_secret: 'test-numbers-secret-0123456789abcdef', redirect_uris: [RP_REDIRECT], allowTestLearnerIds: true };

describe('every test catalogue user, end to end through the real directory and a real service', () => {
  let fed: Federation;
  let testNumbersRp: RelyingParty;

  beforeAll(async () => {
    fed = await startFederation({ config: { clients: [{ client_id: 'learning-service', client_secret: 'learning-service-secret-0123456789', redirect_uris: [RP_REDIRECT] }, TEST_CLIENT] } });
    testNumbersRp = await RelyingParty.discover({ issuer: fed.bridge.issuer, clientId: TEST_CLIENT.client_id, clientSecret: TEST_CLIENT.client_secret, redirectUri: RP_REDIRECT });
  });
  afterAll(async () => {
    await fed?.stop();
  });

  async function claimsOf(username: string, rp = fed.rp) {
    const agent = new UserAgent();
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${UPSTREAM_ID}` });
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
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${UPSTREAM_ID}`, ui_locales: 'en' });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const page = await signInAtDirectory(agent, login, username);
    expect(page.status).toBe(400);
    expect(page.body).toContain(missingText);
    const back = await agent.navigate(linksWithText(page, 'Return to the service')[0]!, { stopAt: RP_REDIRECT });
    expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
  }

  it('demo_u0001: a complete pupil gets every claim', async () => {
    const claims = await claimsOf('demo_u0001');
    expect(claims).toEqual({
      sub: expect.any(String),
      given_name: 'Aino',
      family_name: 'Mansikka',
      [CLAIM.nickname]: 'Ainska',
      [CLAIM.uid]: expect.stringMatching(/^MPASSOID\./),
      [CLAIM.originalIssuer]: fed.upstream.issuer,
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

  it('demo_u0002: a teacher', async () => {
    const claims = await claimsOf('demo_u0002');
    expect(claims[CLAIM.role]).toEqual([`${MANSIKKALA};30076;;Opettaja;2;${TEST_SCHOOL};`]);
    expect(claims[CLAIM.classLevel]).toBeUndefined();
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['0;30076', `0;${TEST_SCHOOL}`]);
  });

  it('demo_u0003: a pupil of two schools', async () => {
    const claims = await claimsOf('demo_u0003');
    expect(claims[CLAIM.role]).toEqual([`${MANSIKKALA};30076;9F;Oppilas;1;${TEST_SCHOOL};`, `${MANSIKKALA};30078;1A;Oppilas;1;${LUKIO};`]);
    expect(claims[CLAIM.schoolInfo]).toEqual([...SCHOOL_INFO, '30078;Mansikkalan testi lukio', `${LUKIO};Mansikkalan testi lukio`]);
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['1;30076', `1;${TEST_SCHOOL}`, '0;30078', `0;${LUKIO}`]);
    expect(claims[CLAIM.educationProviderInfo]).toEqual(PROVIDER_INFO);
  });

  it('demo_u0004: a pupil at an office is named with the office OID', async () => {
    const claims = await claimsOf('demo_u0004');
    expect(claims[CLAIM.role]).toEqual([`${MANSIKKALA};30076;9F;Oppilas;1;${TEST_SCHOOL};${OFFICE}`]);
    expect(claims[CLAIM.schoolCode]).toEqual(['30076']);
  });

  it.each(['demo_u0005', 'demo_u0006', 'demo_u0007'])('%s: missing, unknown or closed school → no school-dependent claims', async (username) => {
    const claims = await claimsOf(username);
    for (const name of [...SCHOOL_DEPENDENT, CLAIM.learningMaterialsCharge]) expect(claims[name]).toBeUndefined();
    expect(claims[CLAIM.learnerId]).toBe(learner(Number(username.slice(-4))));
    expect(claims[CLAIM.classLevel]).toBe('9');
  });

  it('demo_u0008 and demo_u0009: missing or malformed learner number blocks the login', async () => {
    await expectBlocked('demo_u0008', 'the national learner number');
    await expectBlocked('demo_u0009', 'a valid national learner number');
  });

  it('demo_u0010: a test learner number only for a service allowed it', async () => {
    await expectBlocked('demo_u0010', 'a valid national learner number');
    const claims = await claimsOf('demo_u0010', testNumbersRp);
    expect(claims[CLAIM.learnerId]).toBe('1.2.246.562.98.10000000010');
  });

  it('a test learner number is not handed to another service through SSO either', async () => {
    const agent = new UserAgent('en');
    const first = await deepLinkLogin({ ...fed, rp: testNumbersRp }, agent, 'demo_u0010');
    await testNumbersRp.redeem(first.callback, first.request);
    const request = await fed.rp.authorizationRequest({ ui_locales: 'en' });
    const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(page.status).toBe(400);
    expect(page.body).toContain('a valid national learner number');
  });

  it.each(['demo_u0011', 'demo_u0012'])('%s: missing or disallowed role → no role, school or provider claims', async (username) => {
    const claims = await claimsOf(username);
    for (const name of SCHOOL_DEPENDENT) expect(claims[name]).toBeUndefined();
    expect(claims[CLAIM.learningMaterialsCharge]).toBeDefined();
  });

  it.each([['demo_u0013'], ['demo_u0014']])('%s: missing or non-integer class level → no classLevel', async (username) => {
    const claims = await claimsOf(username);
    expect(claims[CLAIM.classLevel]).toBeUndefined();
    expect(claims[CLAIM.role]).toBeDefined();
  });

  it('demo_u0015 to demo_u0019: missing class, charge, nickname or given name; invalid charge', async () => {
    expect((await claimsOf('demo_u0015'))[CLAIM.role]).toEqual([`${MANSIKKALA};30076;;Oppilas;1;${TEST_SCHOOL};`]);
    expect((await claimsOf('demo_u0016'))[CLAIM.learningMaterialsCharge]).toBeUndefined();
    expect((await claimsOf('demo_u0017'))[CLAIM.learningMaterialsCharge]).toBeUndefined();
    expect((await claimsOf('demo_u0018'))[CLAIM.nickname]).toBeUndefined();
    const noGiven = await claimsOf('demo_u0019');
    expect(noGiven.given_name).toBeUndefined();
    expect(noGiven.family_name).toBe('Mansikka');
  });

  it('demo_u0020: names with å, ä and ö', async () => {
    const claims = await claimsOf('demo_u0020');
    expect([claims.given_name, claims.family_name]).toEqual(['Åsa', 'Öhman-Väänänen']);
  });

  it('demo_u0021: lists that do not line up → no multi-valued claims', async () => {
    const claims = await claimsOf('demo_u0021');
    for (const name of [...SCHOOL_DEPENDENT, CLAIM.learningMaterialsCharge, CLAIM.class]) expect(claims[name]).toBeUndefined();
    expect(claims[CLAIM.classLevel]).toBe('9');
  });

  it('demo_u0022: ;-separated values across two providers', async () => {
    const claims = await claimsOf('demo_u0022');
    expect(claims[CLAIM.schoolCode]).toEqual(['30076', '30080']);
    expect(claims[CLAIM.educationProviderInfo]).toEqual([...PROVIDER_INFO, '1.2.246.562.99.00000000010;Ääkkölän testikaupunki']);
    expect(claims[CLAIM.learningMaterialsCharge]).toEqual(['0;30076', `0;${TEST_SCHOOL}`, '1;30080', '1;1.2.246.562.99.00000000011']);
  });

  it('demo_u0023: a principal of a Swedish-language school (name in Swedish)', async () => {
    const claims = await claimsOf('demo_u0023');
    expect(claims[CLAIM.role]).toEqual(['1.2.246.562.99.00000000010;30081;;Rehtori;6;1.2.246.562.99.00000000012;']);
    expect(claims[CLAIM.school]).toEqual(['Åkerö testskola']);
  });

  it('demo_u0024: a school given as an organisation OID', async () => {
    expect((await claimsOf('demo_u0024'))[CLAIM.schoolInfo]).toEqual(SCHOOL_INFO);
  });
});
