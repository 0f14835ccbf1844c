import { createHmac } from 'node:crypto';
import type { MpassClaims } from '../claims/claim-names.js';
import type { LearnerIdKind } from '../claims/formats.js';
import type { RuleReport } from '../claims/pipeline.js';
import type { StateStore } from '../storage/types.js';

/** The released claim values of one account, as they stood after its latest login. */
export interface AccountSnapshot {
  accountId: string;
  directoryId: string;
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
export function accountIdFor(salt: string, directoryId: string, subject: string): string {
  return createHmac('sha256', salt).update(`account\0${directoryId}\0${subject}`).digest('base64url');
}

/**
 * The snapshots behind sessions, grants and tokens. A snapshot must outlive everything that reads
 * it (the SSO session; the grant, and with it codes, access and refresh tokens), yet should not stay
 * longer than that: these are children's details. So a login keeps it for the session, and every
 * grant saved for it extends it to the grant's end (see keepUntil); nothing ever shortens it.
 * Without its snapshot a session signs in anew and a token is refused, never a server error.
 */
export class AccountStore {
  constructor(
    private readonly state: StateStore,
    /** How long a login keeps the snapshot at least: the SSO session's lifetime plus a margin. */
    private readonly loginSeconds: number,
  ) {}

  private key(accountId: string): string {
    return `account:${accountId}`;
  }

  /** The snapshot of a login: kept for the session, or longer if an earlier grant still needs it. */
  async save(snapshot: AccountSnapshot): Promise<void> {
    await this.state.setKeepingLonger(this.key(snapshot.accountId), snapshot, this.loginSeconds);
  }

  /**
   * Keeps the snapshot at least until `expiresAt` (epoch seconds): called for every grant saved for
   * the account, with the grant's end plus the lifetime of the last token it can issue.
   */
  async keepUntil(accountId: string, expiresAt: number): Promise<void> {
    await this.state.extend(this.key(accountId), Math.max(1, expiresAt - nowSeconds()));
  }

  async find(accountId: string): Promise<AccountSnapshot | undefined> {
    const stored = await this.state.get<StoredSnapshot>(this.key(accountId));
    if (!stored) return undefined;
    const { expiresAt: _expiresAt, upstreamId, ...snapshot } = stored;
    return { ...snapshot, directoryId: snapshot.directoryId ?? upstreamId };
  }
}

/**
 * As stored. The store's own expiry keeps the snapshot alive (a write never shortens it); snapshots
 * written by earlier versions also carry it as `expiresAt`, and name the directory `upstreamId`.
 */
type StoredSnapshot = AccountSnapshot & { expiresAt?: number; upstreamId?: string };

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
