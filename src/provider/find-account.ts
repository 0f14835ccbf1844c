import { errors, type FindAccount } from 'oidc-provider';
import type { AccountStore } from '../accounts/accounts.js';
import type { MpassClaims } from '../claims/claim-names.js';
import type { ReleaseRefusal } from '../services/release.js';
import type { ReleaseGate } from './release-gate.js';

/** When the grant behind a token began: a rotated refresh token keeps the first one's time. */
export function issuedAt(token: unknown): number | undefined {
  const { iiat, iat } = (token ?? {}) as { iiat?: unknown; iat?: unknown };
  if (typeof iiat === 'number') return iiat;
  return typeof iat === 'number' ? iat : undefined;
}

/** The account oidc-provider reads: `sub` and the claims released to the service asking. */
function accountWith(sub: string, claims: MpassClaims) {
  return {
    accountId: sub,
    async claims() {
      return { sub, ...claims };
    },
  };
}

/** Refusals that concern this user rather than the service: the interaction explains them with a page. */
const USER_REFUSALS: ReadonlySet<ReleaseRefusal> = new Set(['directory_not_in_use', 'service_not_allowed', 'test_learner_id']);

/** The token endpoint's answer to a refusal: the service learns why, in OAuth terms. */
function tokenRefusal(reason: ReleaseRefusal): Error {
  switch (reason) {
    case 'service_not_allowed_here':
      return new errors.UnauthorizedClient('the service is not enabled in this MPASSid environment');
    case 'token_revoked':
      return new errors.InvalidGrant('the grant was revoked when the service was suspended');
    case 'directory_not_in_use':
      return new errors.InvalidGrant("the user's school directory is no longer in use");
    case 'service_not_allowed':
      return new errors.InvalidGrant("the user's school does not allow this service");
    case 'test_learner_id':
      return new errors.InvalidGrant('the service does not accept test learner numbers');
  }
}

/**
 * How oidc-provider reads a user, for every token, ID token and userinfo answer: the snapshot of the
 * user's latest login, and what the release decision lets the asking service have of it.
 */
export function accountFinder(accounts: AccountStore, release: ReleaseGate): FindAccount {
  return async (ctx, sub, token) => {
    const snapshot = await accounts.find(sub);
    if (!snapshot) return undefined;
    const clientId = ctx.oidc?.client?.clientId ?? (token as { clientId?: string } | undefined)?.clientId;
    // Without a service (a session read on its own) nothing beyond `sub` is released.
    if (clientId === undefined) return accountWith(sub, {});
    const decision = await release.decide(snapshot, clientId, token === undefined ? undefined : { issuedAt: issuedAt(token) });
    if (decision.released) return accountWith(sub, decision.claims);
    const route = ctx.oidc?.route;
    if (route === 'token') throw tokenRefusal(decision.reason);
    // With a user at the browser, the interaction asks the same question and shows them why;
    // a user refused because of the service itself meets the service's absence first.
    if ((route === 'authorization' || route === 'resume') && USER_REFUSALS.has(decision.reason)) return accountWith(sub, {});
    return undefined;
  };
}
