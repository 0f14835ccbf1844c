import { createHash } from 'node:crypto';
import type { DurableStore } from '../storage/types.js';

/**
 * The operators' append-only audit log: who did what to which service or directory, when, and the
 * state before and after. Shared by every environment.
 *
 * Store layout (namespace `registry`):
 *   `audit`                      every entry, oldest first; each carries its sequence number and the
 *                                hash of the one before, so an edited or removed entry breaks the chain
 *   `audit:client:<client_id>`   the entries about one service (copies, for paging without a scan)
 *   `audit:directory:<id>`       the entries about one directory
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
  /** Position in the whole log, from 0. */
  seq?: number;
  /** The previous entry's hash (`genesis` for the first). */
  prev?: string;
  /** sha256 of this entry without `hash`, chained through `prev`. */
  hash?: string;
}

export interface AuditQuery {
  clientId?: string;
  directoryId?: string;
  /** The newest `limit` entries (of the subject's, when one is named). */
  limit?: number;
  /** Skip this many newest entries first (the next page back). */
  offset?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** How many entries the log (or the subject's list) holds. */
  total: number;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The first entry whose hash or link does not hold (its position), when the chain is broken. */
  brokenAt?: number;
  reason?: string;
}

const AUDIT_KEY = 'audit';
const GENESIS = 'genesis';
const DEFAULT_PAGE = 100;
const VERIFY_CHUNK = 500;

/** Keys in a fixed order, nested ones too: the hash must not depend on how JSON was written. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Record<string, unknown>)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function entryHash(entry: AuditEntry): string {
  const { hash: _hash, ...content } = entry;
  return createHash('sha256').update(canonical(content)).digest('hex');
}

export class AuditLog {
  constructor(private readonly store: DurableStore) {}

  async append(entry: Omit<AuditEntry, 'at' | 'seq' | 'prev' | 'hash'> & { at?: string }): Promise<AuditEntry> {
    const base = { ...entry, at: entry.at ?? new Date().toISOString() };
    const chained = await this.store.appendLinked<AuditEntry>(AUDIT_KEY, (last) => {
      const linked: AuditEntry = { ...base, seq: last?.seq !== undefined ? last.seq + 1 : 0, prev: last?.hash ?? GENESIS };
      return { ...linked, hash: entryHash(linked) };
    });
    if (chained.clientId) await this.store.append(`${AUDIT_KEY}:client:${chained.clientId}`, chained);
    if (chained.directoryId) await this.store.append(`${AUDIT_KEY}:directory:${chained.directoryId}`, chained);
    return chained;
  }

  /** A page of the log (oldest first within the page), read from the end without reading it whole. */
  async page(query: AuditQuery = {}): Promise<AuditPage> {
    const key = query.clientId ? `${AUDIT_KEY}:client:${query.clientId}` : query.directoryId ? `${AUDIT_KEY}:directory:${query.directoryId}` : AUDIT_KEY;
    const total = await this.store.length(key);
    const limit = query.limit ?? DEFAULT_PAGE;
    const offset = query.offset ?? 0;
    if (offset >= total) return { entries: [], total };
    const stop = -1 - offset;
    const start = Math.max(-total, stop - limit + 1);
    const entries = await this.store.range<AuditEntry>(key, start, stop);
    // An entry about both a service and a directory is listed under each; the named subject decides.
    return { entries: query.clientId && query.directoryId ? entries.filter((e) => e.directoryId === query.directoryId) : entries, total };
  }

  /** The newest entries of the query (a page), oldest first. */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    return (await this.page(query)).entries;
  }

  /** Walks the whole chain in chunks: every hash recomputed, every link to the one before checked. */
  async verify(): Promise<AuditVerification> {
    const total = await this.store.length(AUDIT_KEY);
    let previous = GENESIS;
    for (let start = 0; start < total; start += VERIFY_CHUNK) {
      const chunk = await this.store.range<AuditEntry>(AUDIT_KEY, start, Math.min(start + VERIFY_CHUNK, total) - 1);
      for (const [index, entry] of chunk.entries()) {
        const position = start + index;
        if (entry.seq !== position) return { ok: false, entries: total, brokenAt: position, reason: 'an entry is missing or out of place' };
        if (entry.prev !== previous) return { ok: false, entries: total, brokenAt: position, reason: 'the link to the previous entry does not hold' };
        if (entry.hash !== entryHash(entry)) return { ok: false, entries: total, brokenAt: position, reason: 'the entry was changed after it was written' };
        previous = entry.hash;
      }
    }
    return { ok: true, entries: total };
  }
}
