import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { addKey, promoteKey, readJwks, retireKey, summarize } from '../../src/admin/signing-keys.js';
import { generateSigningKeys, type BridgeSecrets } from '../../src/config/secrets.js';
import { deepLinkLogin, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { listeningHttpServer } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from '../support/directory-idp.js';
import { UserAgent } from '../support/user-agent.js';
import { testSecrets } from '../support/keys.js';

/**
 * Signing keys rotate without a moment where a token fails: each step edits the JWKS file and the
 * instances restart one after another (here: the next generation of the bridge on the same port).
 */
describe('signing-key rotation', () => {
  let redis: RedisServerHandle;
  let directoryIdp: DirectoryIdpHandle;
  let base: BridgeSecrets;
  let port: number;
  /** The first run's server, listening before the directory is told its callback; restarts bind its port again. */
  let firstServer: import('node:http').Server | undefined;
  let fed: Federation | undefined;
  const file = join(mkdtempSync(join(tmpdir(), 'mpassid-keys-')), 'jwks.json');

  beforeAll(async () => {
    redis = await startRedisServer();
    ({ server: firstServer, port } = await listeningHttpServer());
    directoryIdp = await startDirectoryIdp({ redirectUris: [`http://127.0.0.1:${port}/upstream/${SCHOOL_DIRECTORY_ID}/callback`] });
    base = testSecrets();
    writeFileSync(file, JSON.stringify(await generateSigningKeys()));
  });

  afterAll(async () => {
    await fed?.stop();
    if (firstServer?.listening) firstServer.close();
    await directoryIdp?.stop();
    await redis?.stop();
  });

  /** Restarts the bridge with the JWKS file as it is now. */
  async function restart(): Promise<Federation> {
    await fed?.stop();
    const listener = firstServer ? { server: firstServer } : { bridgePort: port };
    firstServer = undefined;
    fed = await startFederation({ directoryIdp, ...listener, secrets: { ...base, jwks: readJwks(file) }, config: { redis: { url: redis.url } } });
    return fed;
  }

  async function idToken(): Promise<string> {
    const { request, callback } = await deepLinkLogin(fed!, new UserAgent('en'), 'pupil-complete');
    return (await fed!.rp.redeem(callback, request)).id_token!;
  }

  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const verifies = async (token: string) => {
    const jwks = createRemoteJWKSet(new URL(`${fed!.bridge.issuer}/jwks`));
    return jwtVerify(token, jwks, { issuer: fed!.bridge.issuer }).then(
      () => true,
      () => false,
    );
  };

  it('publishes a new key before it signs, signs with it once promoted, and drops the old one only when retired', async () => {
    const [first] = summarize(readJwks(file));
    await restart();
    const before = await idToken();
    expect(kidOf(before)).toBe(first!.kid);

    const added = await addKey(file, 'RS256');
    await restart();
    // Published, not signing: services fetch it before any token carries it.
    const duringOverlap = await idToken();
    expect(kidOf(duringOverlap)).toBe(first!.kid);
    const published = ((await (await fetch(`${fed!.bridge.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    expect(published).toEqual(expect.arrayContaining([first!.kid, added.kid]));

    promoteKey(file, added.kid);
    await restart();
    const afterPromotion = await idToken();
    expect(kidOf(afterPromotion)).toBe(added.kid);
    // Tokens the old key signed still verify during the overlap.
    expect(await verifies(before)).toBe(true);
    expect(await verifies(afterPromotion)).toBe(true);

    // The key that signs cannot be retired; the old one can, once its tokens have expired.
    expect(() => retireKey(file, added.kid)).toThrow(/signs RS256 tokens now/);
    retireKey(file, first!.kid);
    await restart();
    expect(await verifies(afterPromotion)).toBe(true);
    expect(await verifies(before)).toBe(false);
    expect(summarize(readJwks(file))).toEqual([{ kid: added.kid, alg: 'RS256', role: 'signing' }]);
  });
});
