import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { exportJWK, generateKeyPair } from 'jose';
import type { PrivateJwks } from '../config/secrets.js';

/**
 * Rotating the signing keys without downtime, by editing the JWKS file every instance reads at start:
 *
 *   add      a new key goes to the END of the set: published in the JWKS at once, but not used to
 *            sign (the provider signs with the first key of the algorithm);
 *   promote  once every service has had time to fetch the new JWKS (its cache lifetime, a day to be
 *            safe), the new key moves to the FRONT and signs; the old one stays published;
 *   retire   once every token the old key signed has expired (the ID and access token lifetimes),
 *            it is removed.
 *
 * After each step the instances are restarted one by one; at every moment each published key is
 * one some instance may have signed with, so no token fails to verify.
 */

export type SigningAlg = 'RS256' | 'ES256';

export interface KeySummary {
  kid: string;
  alg: string;
  /** signing: the first key of its algorithm; published: in the JWKS, verifying only. */
  role: 'signing' | 'published';
}

export function readJwks(file: string): PrivateJwks {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as PrivateJwks;
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error(`${file} holds no keys`);
  return parsed;
}

function writeJwks(file: string, jwks: PrivateJwks): void {
  // Written aside and renamed: an instance starting meanwhile reads the old set or the new one, whole.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

export function summarize(jwks: PrivateJwks): KeySummary[] {
  const seen = new Set<string>();
  return jwks.keys.map((key) => {
    const alg = String(key.alg ?? '');
    const role = seen.has(alg) ? 'published' : 'signing';
    seen.add(alg);
    return { kid: key.kid, alg, role };
  });
}

export async function addKey(file: string, alg: SigningAlg): Promise<KeySummary> {
  const jwks = readJwks(file);
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 3072 } : {}) });
  const jwk = await exportJWK(privateKey);
  const key = { ...jwk, kty: jwk.kty ?? '', d: jwk.d ?? '', kid: randomUUID(), alg, use: 'sig' };
  writeJwks(file, { keys: [...jwks.keys, key] });
  return summarize({ keys: [...jwks.keys, key] }).at(-1)!;
}

export function promoteKey(file: string, kid: string): KeySummary[] {
  const jwks = readJwks(file);
  const key = jwks.keys.find((k) => k.kid === kid);
  if (!key) throw new Error(`no key ${kid} in ${file}`);
  const next = { keys: [key, ...jwks.keys.filter((k) => k.kid !== kid)] };
  writeJwks(file, next);
  return summarize(next);
}

export function retireKey(file: string, kid: string): KeySummary[] {
  const jwks = readJwks(file);
  const summary = summarize(jwks);
  const target = summary.find((k) => k.kid === kid);
  if (!target) throw new Error(`no key ${kid} in ${file}`);
  if (target.role === 'signing') throw new Error(`${kid} signs ${target.alg} tokens now: promote another ${target.alg} key first`);
  const next = { keys: jwks.keys.filter((k) => k.kid !== kid) };
  writeJwks(file, next);
  return summarize(next);
}
