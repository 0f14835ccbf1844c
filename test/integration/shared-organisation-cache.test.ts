import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLAIM } from '../../src/claims/claim-names.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { deepLinkLogin, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { startOphServer, type OphServerHandle } from '../support/oph-server.js';
import { listeningHttpServer } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from '../support/directory-idp.js';
import { UserAgent } from '../support/user-agent.js';
import { testSecrets } from '../support/keys.js';

/**
 * The organisation registry's answers are shared by every instance through the store: an instance
 * started during an outage of the registry still resolves the schools others resolved.
 */
describe('the organisation cache shared by instances', () => {
  let redis: RedisServerHandle;
  let oph: OphServerHandle;
  let directoryIdp: DirectoryIdpHandle;
  let secrets: BridgeSecrets;
  let listeners: Array<Awaited<ReturnType<typeof listeningHttpServer>>>;
  const running: Federation[] = [];

  const start = async (listener: { server: import('node:http').Server }) => {
    const fed = await startFederation({
      directoryIdp,
      secrets,
      server: listener.server,
      config: { redis: { url: redis.url }, organisations: { source: 'http', baseUrl: oph.baseUrl, timeoutMs: 1000 } },
    });
    running.push(fed);
    return fed;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    oph = await startOphServer();
    secrets = testSecrets();
    // Both instances' servers listen from the start: the directory is told their callbacks first.
    listeners = [await listeningHttpServer(), await listeningHttpServer()];
    directoryIdp = await startDirectoryIdp({ redirectUris: listeners.map(({ port }) => `http://127.0.0.1:${port}/upstream/${SCHOOL_DIRECTORY_ID}/callback`) });
  });

  afterAll(async () => {
    for (const fed of running) await fed.stop();
    for (const { server } of listeners ?? []) if (server.listening) server.close();
    await directoryIdp?.stop();
    await oph?.stop();
    await redis?.stop();
  });

  async function schoolCodes(fed: Federation): Promise<unknown> {
    const { request, callback } = await deepLinkLogin(fed, new UserAgent('en'), 'pupil-complete');
    return (await fed.rp.redeem(callback, request)).claims()![CLAIM.schoolCode];
  }

  it('resolves a school on a fresh instance while the registry is down, from what another instance learned', async () => {
    const first = await start(listeners[0]!);
    expect(await schoolCodes(first)).toEqual(['30076']);
    const asked = oph.requests.length;
    expect(asked).toBeGreaterThan(0);

    oph.setDown(true);
    const fresh = await start(listeners[1]!);
    expect(await schoolCodes(fresh)).toEqual(['30076']);
    // The fresh instance did not need the registry for it.
    expect(fresh.bridge.logs.some((line) => line.msg === 'directory asserted a school it is not registered for')).toBe(false);
    oph.setDown(false);
  });
});
