import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deepLinkLogin, startFederation, type Federation } from '../support/federation.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { UserAgent } from '../support/user-agent.js';
import { eventually } from '../support/eventually.js';

/** Item 3 of issue 10: a Redis that keeps its socket open but answers nothing. */
describe('a stalled Redis', () => {
  let redis: RedisServerHandle;
  let fed: Federation;

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    fed = await startFederation({ config: { redis: { url: redis.url, commandTimeoutMs: 300 } } });
  });

  afterAll(async () => {
    redis?.resume();
    await fed?.stop();
    await redis?.stop();
  });

  it('fails fast after consecutive timeouts, probes in the background, and recovers by itself', async () => {
    redis.pause();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const request = await fed.rp.authorizationRequest();
        statuses.push((await new UserAgent('en').request(request.url.href)).status);
      }
      expect(statuses).toEqual([503, 503, 503]);
      // The store now counts as unavailable: requests are refused by the gate without a command.
      expect(fed.bridge.storage.isAvailable()).toBe(false);
      const token = await fetch(`${fed.bridge.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x' }) });
      expect(token.status).toBe(503);
    } finally {
      redis.resume();
    }
    await eventually(() => fed.bridge.storage.isAvailable(), { what: 'the store becoming available again' });
    const { request, callback } = await deepLinkLogin(fed, new UserAgent(), 'pupil-complete');
    expect((await fed.rp.redeem(callback, request)).claims()!.given_name).toBe('Aino');
  });
});
