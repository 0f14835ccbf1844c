import { createHmac } from 'node:crypto';
import type { MpassClaims } from '../claims/claim-names.js';
import type { LearnerIdKind } from '../claims/formats.js';
import type { RuleReport } from '../claims/pipeline.js';
import type { StateStore } from '../storage/types.js';

/** The released claim values of one account, as they stood after its latest login. */
export interface AccountSnapshot {
  accountId: string;
  upstreamId: string;
  claims: MpassClaims;
  /** Test learner numbers are released only to services allowed them. */
  learnerIdKind: LearnerIdKind;
  /** How each rule of the validation table went (rule ids and outcomes, no values). */
  report: RuleReport[];
  updatedAt: number;
}

/**
 * An account is always the pair (directory, directory subject); never linked by name, email or
 * learner number. The id is keyed with the deployment's salt so it reveals nothing about the subject.
 */
export function accountIdFor(salt: string, upstreamId: string, subject: string): string {
  return createHmac('sha256', salt).update(`account\0${upstreamId}\0${subject}`).digest('base64url');
}

export class AccountStore {
  constructor(
    private readonly state: StateStore,
    /** Kept as long as any token that can read it at userinfo may live. */
    private readonly ttlSeconds: number,
  ) {}

  private key(accountId: string): string {
    return `account:${accountId}`;
  }

  async save(snapshot: AccountSnapshot): Promise<void> {
    await this.state.set(this.key(snapshot.accountId), snapshot, this.ttlSeconds);
  }

  async find(accountId: string): Promise<AccountSnapshot | undefined> {
    return this.state.get<AccountSnapshot>(this.key(accountId));
  }
}
