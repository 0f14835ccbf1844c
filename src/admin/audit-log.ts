import type { DurableStore } from '../storage/types.js';

/**
 * The operators' append-only audit log: who did what to which service or directory, when, and the
 * state before and after. One list in the durable store, shared by every environment.
 */
export interface AuditEntry {
  at: string;
  operator: string;
  action: string;
  clientId?: string;
  directoryId?: string;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  reason?: string;
  detail?: Record<string, unknown>;
}

export interface AuditQuery {
  clientId?: string;
  directoryId?: string;
  limit?: number;
}

const AUDIT_KEY = 'audit';

export class AuditLog {
  constructor(private readonly store: DurableStore) {}

  async append(entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<AuditEntry> {
    const complete: AuditEntry = { ...entry, at: entry.at ?? new Date().toISOString() };
    await this.store.append(AUDIT_KEY, complete);
    return complete;
  }

  /** Oldest first; the `limit` newest entries when given. */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const entries = await this.store.range<AuditEntry>(AUDIT_KEY, 0, -1);
    const filtered = entries.filter(
      (e) => (!query.clientId || e.clientId === query.clientId) && (!query.directoryId || e.directoryId === query.directoryId),
    );
    return query.limit ? filtered.slice(-query.limit) : filtered;
  }
}
