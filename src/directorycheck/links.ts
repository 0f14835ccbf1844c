import { createHash, randomBytes } from 'node:crypto';
import type { DurableStore } from '../storage/types.js';

/**
 * Links an operator issues so that a school's administrator can run the attribute check of their
 * directory without operator credentials. Only a hash of the token is stored; the link works for
 * any number of checks until it expires.
 */
export interface CheckLink {
  /** Short public id (shown in the audit log and on the evidence). */
  id: string;
  directoryId: string;
  issuedBy: string;
  issuedAt: string;
  expiresAt: string;
  note?: string;
}

const hashOf = (token: string): string => createHash('sha256').update(token).digest('base64url');
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export class CheckLinks {
  constructor(private readonly store: DurableStore) {}

  async issue(directoryId: string, issuedBy: string, ttlSeconds: number, note?: string): Promise<{ token: string; link: CheckLink }> {
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const link: CheckLink = {
      id: hashOf(token).slice(0, 10),
      directoryId,
      issuedBy,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlSeconds * 1000).toISOString(),
      ...(note ? { note } : {}),
    };
    await this.store.put(`check-link:${hashOf(token)}`, link, ttlSeconds);
    return { token, link };
  }

  /** The link of a token from a URL; undefined when malformed, unknown or expired. */
  async find(token: string): Promise<{ link: CheckLink } | undefined> {
    if (!TOKEN_FORMAT.test(token)) return undefined;
    const link = await this.store.get<CheckLink>(`check-link:${hashOf(token)}`);
    return link && Date.parse(link.expiresAt) > Date.now() ? { link } : undefined;
  }
}
