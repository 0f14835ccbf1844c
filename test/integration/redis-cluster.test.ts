import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { deepLinkLogin, startFederation, type Federation } from '../support/federation.js';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.js';
import { UserAgent } from '../support/user-agent.js';

describe('the bridge on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let fed: Federation;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    fed = await startFederation({ config: { redis: { mode: 'cluster', nodes: cluster.nodes, commandTimeoutMs: 1000 } } });
  });
  afterAll(async () => {
    await fed?.stop();
    await cluster?.stop();
  });

  it('runs whole logins, code redemption and replay revocation with keys spread over the nodes', async () => {
    expect(fed.bridge.storage.kind).toBe('redis');
    for (const username of ['pupil-complete', 'teacher', 'pupil-two-schools']) {
      const { request, callback } = await deepLinkLogin(fed, new UserAgent(), username);
      const tokens = await fed.rp.redeem(callback, request);
      expect((await fed.rp.userinfo(tokens.access_token, tokens.claims()!.sub)).sub).toBe(tokens.claims()!.sub);
      await expect(fed.rp.redeem(callback, request)).rejects.toMatchObject({ error: 'invalid_grant' });
      await expect(fed.rp.userinfo(tokens.access_token, tokens.claims()!.sub)).rejects.toThrow();
    }
    // The keys really are spread over more than one node (no hash tags forcing one slot).
    const client = new Cluster(cluster.nodes);
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const counts = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
      expect(counts.filter((count) => count > 0).length).toBeGreaterThan(1);
    } finally {
      client.disconnect();
    }
  });
});
