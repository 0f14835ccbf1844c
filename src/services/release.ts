import { type MpassClaims, PROFILE_CLAIMS } from '../claims/claim-names.js';
import type { LearnerIdKind } from '../claims/formats.js';

/*
 * What a service receives of a user: decided here and nowhere else, at the end of every login (a
 * directory login or single sign-on to another service) and whenever the provider reads the account
 * for a token, the ID token or userinfo. Pure: the callers read the records and act on the answer.
 */

/** The user as their latest login left them: the validated snapshot. */
export interface ReleaseUser {
  directoryId: string;
  learnerIdKind: LearnerIdKind;
  claims: MpassClaims;
}

/** The service as operators left it; absent when it has no live record. */
export interface ReleaseService {
  clientId: string;
  /** Approved (or published, or under review in test) for this environment, and not suspended. */
  allowedHere: boolean;
  allowTestLearnerIds: boolean;
  /** The claim names operators release to it; null for every profile claim. */
  releasedClaims: readonly string[] | null;
  /** Codes and tokens issued up to this second were revoked (a suspension or rejection). */
  tokensRevokedBefore?: number | undefined;
}

/** The user's directory as it stands in this environment; absent when it is no longer in use here. */
export interface ReleaseDirectory {
  /** The services its education provider lets its users reach; absent for no restriction. */
  allowedClients?: ReadonlySet<string> | undefined;
}

export interface ReleaseInput {
  user: ReleaseUser;
  service: ReleaseService | undefined;
  directory: ReleaseDirectory | undefined;
  /** The code or token being redeemed or used, if any: when it was issued (a refresh token: its grant's first). */
  token?: { issuedAt: number | undefined } | undefined;
}

/** Why a service gets nothing of this user; the order is the order of the checks. */
export type ReleaseRefusal =
  | 'service_not_allowed_here' // no live record, rejected, suspended, or not for this environment
  | 'token_revoked' // issued before the service was suspended or rejected
  | 'directory_not_in_use' // the user's directory was suspended or removed since the login
  | 'service_not_allowed' // the education provider does not let its users reach this service
  | 'test_learner_id'; // a test learner number, and the service does not take them

export type ReleaseDecision = { released: true; claims: MpassClaims } | { released: false; reason: ReleaseRefusal };

/** What operators release when they name no claims. */
const EVERY_PROFILE_CLAIM: ReadonlySet<string> = new Set<string>(PROFILE_CLAIMS);

export function decideRelease({ user, service, directory, token }: ReleaseInput): ReleaseDecision {
  if (!service?.allowedHere) return { released: false, reason: 'service_not_allowed_here' };
  // A new login is judged by the lifecycle alone; a code or token also by its age. Times are whole
  // seconds: a token of the very second of the suspension counts as revoked.
  const revokedBefore = service.tokensRevokedBefore;
  if (token && revokedBefore !== undefined && (token.issuedAt === undefined || token.issuedAt <= revokedBefore)) {
    return { released: false, reason: 'token_revoked' };
  }
  if (!directory) return { released: false, reason: 'directory_not_in_use' };
  if (directory.allowedClients && !directory.allowedClients.has(service.clientId)) return { released: false, reason: 'service_not_allowed' };
  if (user.learnerIdKind === 'test' && !service.allowTestLearnerIds) return { released: false, reason: 'test_learner_id' };
  const released = service.releasedClaims ? new Set<string>(service.releasedClaims) : EVERY_PROFILE_CLAIM;
  return { released: true, claims: Object.fromEntries(Object.entries(user.claims).filter(([name]) => released.has(name))) };
}
