import type { Context } from 'koa';
import type { DirectoryAction, DirectoryState } from '../directories/lifecycle.js';
import type { Environment } from '../config/common.js';
import type { LifecycleAction } from '../services/registry.js';
import { ApiError } from './request.js';

/**
 * Which MPASSid environment an operator action concerns, and the check that the operator acts for it
 * (`admin.operators[].environments`). The registry of services and directories is shared, so the
 * environment follows from the action, not from the environment whose admin API was called: an
 * operator of test approves nothing for production through the test bridge either.
 */

export const SERVICE_ACTION_ENVIRONMENT: Readonly<Record<LifecycleAction, Environment>> = {
  approve: 'production',
  reject: 'production',
  suspend: 'production',
  reinstate: 'production',
  'publish-to-demo': 'demo',
  'unpublish-from-demo': 'demo',
};

export const DIRECTORY_ACTION_ENVIRONMENT: Readonly<Record<DirectoryAction, Environment>> = {
  'start-testing': 'test',
  approve: 'production',
  suspend: 'production',
  reinstate: 'production',
  'return-to-testing': 'production',
};

/** A directory users of production may reach (or that returns there when reinstated). */
export function directoryEnvironment(state: DirectoryState): Environment {
  return state.status === 'approved' || (state.status === 'suspended' && state.suspendedFrom === 'approved') ? 'production' : 'test';
}

/** Set by the authentication step for the rest of the request. */
export interface OperatorState {
  operator: string;
  operatorEnvironments: readonly Environment[];
}

/** Throws 403 unless the signed-in operator acts for `environment`. */
export function requireEnvironment(ctx: Context, environment: Environment, what: string): void {
  const allowed = (ctx.state as Partial<OperatorState>).operatorEnvironments ?? [];
  if (!allowed.includes(environment)) {
    throw new ApiError(403, 'forbidden', `${what} concerns the ${environment} environment; this operator acts for ${allowed.join(', ') || 'no environment'}`);
  }
}
