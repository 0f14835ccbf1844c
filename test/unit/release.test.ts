import { describe, expect, it } from '@jest/globals';
import { CLAIM, PROFILE_CLAIMS } from '../../src/claims/claim-names.js';
import { decideRelease, type ReleaseDirectory, type ReleaseInput, type ReleaseService, type ReleaseUser } from '../../src/services/release.js';

const pupil: ReleaseUser = {
  directoryId: 'city',
  learnerIdKind: 'national',
  claims: { [CLAIM.givenName]: 'Maija', [CLAIM.familyName]: 'Meikäläinen', [CLAIM.learnerId]: '1.2.246.562.24.10000000008', [CLAIM.uid]: 'MPASSOID.x' },
};
const testPupil: ReleaseUser = { ...pupil, learnerIdKind: 'test', claims: { ...pupil.claims, [CLAIM.learnerId]: '1.2.246.562.98.10000000008' } };
const service: ReleaseService = { clientId: 'svc', allowedHere: true, allowTestLearnerIds: false, releasedClaims: null };
const directory: ReleaseDirectory = {};

/** Each row: what changes from the ordinary case (a pupil, an approved service, a directory in use), and the answer. */
const cases: Array<[string, Partial<ReleaseInput>, string]> = [
  ['an approved service, a pupil of a directory in use', {}, 'released'],
  ['a service without a live record', { service: undefined }, 'service_not_allowed_here'],
  ['a suspended service (not allowed here)', { service: { ...service, allowedHere: false } }, 'service_not_allowed_here'],
  ['a service not allowed here, whose user is also refused', { service: { ...service, allowedHere: false }, directory: undefined }, 'service_not_allowed_here'],
  ['a new login after a suspension was lifted', { service: { ...service, tokensRevokedBefore: 1000 } }, 'released'],
  ['a token issued before the suspension', { service: { ...service, tokensRevokedBefore: 1000 }, token: { issuedAt: 999 } }, 'token_revoked'],
  ['a token issued in the second of the suspension', { service: { ...service, tokensRevokedBefore: 1000 }, token: { issuedAt: 1000 } }, 'token_revoked'],
  [
    'a token without an issue time, after a suspension',
    { service: { ...service, tokensRevokedBefore: 1000 }, token: { issuedAt: undefined } },
    'token_revoked',
  ],
  ['a token issued after the suspension was lifted', { service: { ...service, tokensRevokedBefore: 1000 }, token: { issuedAt: 1001 } }, 'released'],
  ['a token of a service never suspended', { token: { issuedAt: 5 } }, 'released'],
  ['a directory no longer in use here', { directory: undefined }, 'directory_not_in_use'],
  ['a directory whose provider lists the service', { directory: { allowedClients: new Set(['svc', 'other']) } }, 'released'],
  ['a directory whose provider does not list the service', { directory: { allowedClients: new Set(['other']) } }, 'service_not_allowed'],
  ['a directory whose provider allows no service', { directory: { allowedClients: new Set() } }, 'service_not_allowed'],
  ['a test learner number, service not allowed them', { user: testPupil }, 'test_learner_id'],
  ['a test learner number, service allowed them', { user: testPupil, service: { ...service, allowTestLearnerIds: true } }, 'released'],
  ['a test learner number at a directory not in use', { user: testPupil, directory: undefined }, 'directory_not_in_use'],
];

describe('what a service receives of a user', () => {
  it.each(cases)('%s', (_title, change, expected) => {
    const decision = decideRelease({ user: pupil, service, directory, ...change });
    expect(decision.released ? 'released' : decision.reason).toBe(expected);
  });

  it('releases every profile claim the user has when operators release all', () => {
    const decision = decideRelease({ user: pupil, service, directory });
    expect(decision).toEqual({ released: true, claims: pupil.claims });
  });

  it('releases only the claims operators release to the service, and none the user lacks', () => {
    const decision = decideRelease({ user: pupil, service: { ...service, releasedClaims: [CLAIM.givenName, CLAIM.schoolCode] }, directory });
    expect(decision).toEqual({ released: true, claims: { [CLAIM.givenName]: 'Maija' } });
  });

  it('releases nothing beyond sub when operators release no claims', () => {
    expect(decideRelease({ user: pupil, service: { ...service, releasedClaims: [] }, directory })).toEqual({ released: true, claims: {} });
  });

  it('never releases a value that is not a profile claim', () => {
    const stray = { ...pupil, claims: { ...pupil.claims, internal_note: 'x' } };
    const decision = decideRelease({ user: stray, service, directory });
    expect(decision.released && Object.keys(decision.claims).every((name) => PROFILE_CLAIMS.includes(name as never))).toBe(true);
  });
});
