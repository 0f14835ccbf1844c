import type { DirectoryAccounts } from '../config/schema.js';
import type { Environment } from '../config/common.js';

/**
 * An education provider's directory goes draft → testing → approved (production), and may be
 * suspended from testing or production and reinstated to where it was.
 */
export type DirectoryStatus = 'draft' | 'testing' | 'approved' | 'suspended';
export const DIRECTORY_STATUSES: readonly DirectoryStatus[] = ['draft', 'testing', 'approved', 'suspended'];

export type DirectoryAction = 'start-testing' | 'approve' | 'suspend' | 'reinstate' | 'return-to-testing';
export const DIRECTORY_ACTIONS: readonly DirectoryAction[] = ['start-testing', 'approve', 'suspend', 'reinstate', 'return-to-testing'];

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

/** The state after an action, or why the action is not possible now. */
export function transition(state: DirectoryState, action: DirectoryAction): DirectoryState | string {
  switch (action) {
    case 'start-testing':
      return state.status === 'draft' ? { status: 'testing' } : `only a draft can start testing (the directory is ${state.status})`;
    case 'approve':
      return state.status === 'testing' ? { status: 'approved' } : `only a directory in testing can be approved (it is ${state.status})`;
    case 'suspend':
      return state.status === 'testing' || state.status === 'approved'
        ? { status: 'suspended', suspendedFrom: state.status }
        : `only a directory in testing or production can be suspended (it is ${state.status})`;
    case 'reinstate':
      return state.status === 'suspended' ? { status: state.suspendedFrom ?? 'testing' } : 'the directory is not suspended';
    case 'return-to-testing':
      return state.status === 'approved' ? { status: 'testing' } : `only an approved directory can return to testing (it is ${state.status})`;
  }
}
