import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Environment } from '../config/common.js';
import { strictestEnvironment, changesNeedReview, type ServiceRegistry } from './registry.js';
import type { InitialAccessTokens } from './initial-access.js';
import { reviewedChanges, type Metadata } from './metadata-review.js';
import { enforceRegistrationPolicy } from './registration-rules.js';

/** The response header that tells a service its update waits for an operator's review. */
const PENDING_REVIEW_HEADER = 'MPASSid-Change-Pending-Review';

export interface RegistrationPolicyDependencies {
  registry: ServiceRegistry;
  initialAccessTokens: InitialAccessTokens;
  /** The environment whose registration endpoint serves the request. */
  environment: Environment;
  /** Non-production deployments may allow http loopback back-channel logout URIs (tests). */
  allowLoopbackBackchannel: boolean;
}

/**
 * The MPASSid registration policy, run by oidc-provider for every registration (RFC 7591) and
 * every update (RFC 7592) — every initial access token, and so every registration access token,
 * carries it. The metadata must meet the rules of the strictest environment the service may be used
 * in; an approved service's change of what the operator reviewed is held for review instead of
 * taking effect (the stored metadata keeps the approved values).
 */
export function registrationPolicy(deps: RegistrationPolicyDependencies) {
  const { registry, environment } = deps;
  return async function mpassidPolicy(ctx: KoaContextWithOIDC, properties: Record<string, unknown>): Promise<void> {
    const updating = ctx.oidc.route === 'client_update';
    const clientId = String(properties.client_id);
    const record = updating ? await registry.get(clientId) : undefined;
    enforceRegistrationPolicy(properties, {
      environment: strictestEnvironment(environment, record),
      refreshTokensAllowed: record?.settings.refreshTokens ?? false,
      publicSubjectAllowed: record?.settings.publicSubject ?? false,
      allowLoopbackBackchannel: deps.allowLoopbackBackchannel,
    });
    if (!updating) {
      // A use of the initial access token is spent only by a registration that passed the policy.
      await deps.initialAccessTokens.spend(ctx);
      return;
    }
    if (!record || record.static || !changesNeedReview(record)) return;
    const current = ctx.oidc.client!.metadata() as Metadata;
    const held = reviewedChanges(current, properties);
    if (Object.keys(held).length === 0) return;
    // The approved values stay in force until an operator approves the change.
    for (const field of Object.keys(held)) {
      if (current[field] === undefined) delete properties[field];
      else properties[field] = current[field];
    }
    await registry.proposeChange(clientId, held, environment);
    ctx.set(PENDING_REVIEW_HEADER, Object.keys(held).join(', '));
  };
}
