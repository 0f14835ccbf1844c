import { createHash, randomBytes } from 'node:crypto';
import type { DurableStore } from '../../storage/types.js';

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
    await this.store.addMember(`check-links:${directoryId}`, hashOf(token));
    return { token, link };
  }

  /** The directory's links that still work. */
  async list(directoryId: string): Promise<CheckLink[]> {
    return (await this.current(directoryId)).map(({ link }) => link);
  }

  /** Ends a link before it expires (e.g. it reached the wrong person). False when no such working link. */
  async revoke(directoryId: string, linkId: string): Promise<boolean> {
    const found = (await this.current(directoryId)).find(({ link }) => link.id === linkId);
    if (!found) return false;
    await this.store.delete(`check-link:${found.key}`);
    return true;
  }

  private async current(directoryId: string): Promise<Array<{ key: string; link: CheckLink }>> {
    const keys = await this.store.members(`check-links:${directoryId}`);
    const links = await Promise.all(keys.map(async (key) => ({ key, link: await this.store.get<CheckLink>(`check-link:${key}`) })));
    return links
      .filter((l): l is { key: string; link: CheckLink } => l.link !== undefined && Date.parse(l.link.expiresAt) > Date.now())
      .sort((a, b) => a.link.issuedAt.localeCompare(b.link.issuedAt));
  }

  /** The link of a token from a URL; undefined when malformed, unknown or expired. */
  async find(token: string): Promise<{ link: CheckLink } | undefined> {
    if (!TOKEN_FORMAT.test(token)) return undefined;
    const link = await this.store.get<CheckLink>(`check-link:${hashOf(token)}`);
    return link && Date.parse(link.expiresAt) > Date.now() ? { link } : undefined;
  }
}
