import type { DirectoryAccounts } from '../config/schema.js';
import type { Environment } from '../config/common.js';
import { nextState, type TransitionTable } from '../lifecycle/records.js';

/**
 * An education provider's directory goes draft → testing → approved (production), and may be
 * suspended from testing or production and reinstated to where it was.
 */
export type DirectoryStatus = 'draft' | 'testing' | 'approved' | 'suspended';
export const DIRECTORY_STATUSES: readonly DirectoryStatus[] = ['draft', 'testing', 'approved', 'suspended'];

export type DirectoryAction = 'start-testing' | 'approve' | 'suspend' | 'reinstate' | 'return-to-testing';

export interface DirectoryState {
  status: DirectoryStatus;
  /** While suspended: the state a reinstatement returns to. */
  suspendedFrom?: 'testing' | 'approved';
}

/**
 * Where users may sign in through a directory. Real pupils only in production, and only through an
 * approved directory (a directory in testing is reached only through the operator's attribute
 * check); the test environment offers only directories of test accounts, the demo environment only
 * those of demo accounts, each while in testing or approved. Draft and suspended: nowhere.
 */
export function usableIn(status: DirectoryStatus, accounts: DirectoryAccounts, environment: Environment): boolean {
  if (environment === 'production') return accounts === 'real' && status === 'approved';
  const served: DirectoryAccounts = environment === 'test' ? 'test' : 'demo';
  return accounts === served && (status === 'approved' || status === 'testing');
}

/** Whether the operator's attribute check may sign in through it (in any environment). */
export function checkable(status: DirectoryStatus): boolean {
  return status === 'testing' || status === 'approved';
}

/** Each action's states and where it leads; a suspension remembers where a reinstatement returns to. */
export const DIRECTORY_TRANSITIONS: TransitionTable<DirectoryAction, DirectoryState> = {
  'start-testing': {
    requires: [{ field: 'status', from: ['draft'], refusal: (status) => `only a draft can start testing (the directory is ${status})` }],
    to: () => ({ status: 'testing' }),
  },
  approve: {
    requires: [{ field: 'status', from: ['testing'], refusal: (status) => `only a directory in testing can be approved (it is ${status})` }],
    to: () => ({ status: 'approved' }),
  },
  suspend: {
    requires: [
      { field: 'status', from: ['testing', 'approved'], refusal: (status) => `only a directory in testing or production can be suspended (it is ${status})` },
    ],
    to: (state) => ({ status: 'suspended', suspendedFrom: state.status === 'approved' ? 'approved' : 'testing' }),
  },
  reinstate: {
    requires: [{ field: 'status', from: ['suspended'], refusal: 'the directory is not suspended' }],
    to: (state) => ({ status: state.suspendedFrom ?? 'testing' }),
  },
  'return-to-testing': {
    requires: [{ field: 'status', from: ['approved'], refusal: (status) => `only an approved directory can return to testing (it is ${status})` }],
    to: () => ({ status: 'testing' }),
  },
};

export const DIRECTORY_ACTIONS = Object.keys(DIRECTORY_TRANSITIONS) as readonly DirectoryAction[];

/** The state after an action, or why the action is not possible now. */
export function transition(state: DirectoryState, action: DirectoryAction): DirectoryState | string {
  return nextState(DIRECTORY_TRANSITIONS, state, action);
}
