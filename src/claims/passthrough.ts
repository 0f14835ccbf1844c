import { createHmac } from 'node:crypto';
import type { UpstreamIdentity } from '../upstream/types.js';

/** Claims released under `profile` until the full MPASSid validation pipeline replaces this step. */
export const PROFILE_CLAIMS = ['given_name', 'family_name', 'urn:mpass.id:uid'] as const;

/** Stable, opaque user id derived from (directory, unique id); changes if the user moves directory. */
export function mpassUid(salt: string, upstreamId: string, username: string): string {
  return `MPASSOID.${createHmac('sha256', salt).update(`uid\0${upstreamId}\0${username}`).digest('hex').slice(0, 40)}`;
}

function singleString(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (Array.isArray(value) && value.length === 1) return singleString(value[0]);
  return undefined;
}

/**
 * Passes the names and the unique id through. The directory's subject is its unique id for the user.
 */
export function passthroughClaims(identity: UpstreamIdentity, salt: string): Record<string, string> {
  const claims: Record<string, string> = { 'urn:mpass.id:uid': mpassUid(salt, identity.upstreamId, identity.subject) };
  const given = singleString(identity.attributes.given_name);
  const family = singleString(identity.attributes.family_name);
  if (given) claims.given_name = given;
  if (family) claims.family_name = family;
  return claims;
}
