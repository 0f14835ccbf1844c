import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/load.js';
import { createMemoryStorage } from '../../src/storage/memory.js';
import { createRedisStorage } from '../../src/storage/redis.js';
import { StoreUnavailableError, type Storage } from '../../src/storage/types.js';
import { waitUntilAvailable } from '../../src/storage/index.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const id = () => randomUUID();

/** One suite, every implementation: the contract oidc-provider and the bridge rely on. */
function conformance(name: string, open: () => Promise<Storage>, close: (storage: Storage) => Promise<void>) {
  describe(`storage conformance: ${name}`, () => {
    let storage: Storage;
    beforeAll(async () => {
      storage = await open();
    });
    afterAll(async () => {
      await close(storage);
    });
    const adapter = (model: string, ns = 'op') => storage.adapterFactory(ns)(model);

    it('appends to lists and reads ranges as LRANGE does', async () => {
      const durable = storage.durable('conf');
      const key = `list:${id()}`;
      expect(await durable.range(key, 0, -1)).toEqual([]);
      for (const n of [1, 2, 3, 4]) await durable.append(key, { n });
      expect(await durable.range(key, 0, -1)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
      expect(await durable.range(key, 1, 2)).toEqual([{ n: 2 }, { n: 3 }]);
      expect(await durable.range(key, -2, -1)).toEqual([{ n: 3 }, { n: 4 }]);
      expect(await durable.range(key, 2, 100)).toEqual([{ n: 3 }, { n: 4 }]);
      expect(await durable.range(key, 3, 1)).toEqual([]);
      // Other namespaces and keys are apart.
      expect(await storage.durable('other').range(key, 0, -1)).toEqual([]);
    });

    it('keeps durable records without expiry, takes them once, indexes members', async () => {
      const durable = storage.durable('conf');
      const key = id();
      await durable.put(key, { a: 1 });
      expect(await durable.get(key)).toEqual({ a: 1 });
      const [first, second] = await Promise.all([durable.take(key), durable.take(key)]);
      expect([first, second].filter(Boolean)).toEqual([{ a: 1 }]);
      await durable.addMember(`idx:${key}`, 'x');
      await durable.addMember(`idx:${key}`, 'y');
      expect((await durable.members(`idx:${key}`)).sort()).toEqual(['x', 'y']);
    });

    it('stores and finds a payload, and destroys it', async () => {
      const a = adapter('AccessToken');
      const key = id();
      await a.upsert(key, { jti: key, accountId: 'acc', grantId: 'g1', scope: 'openid' }, 60);
      expect(await a.find(key)).toEqual({ jti: key, accountId: 'acc', grantId: 'g1', scope: 'openid' });
      await a.destroy(key);
      expect(await a.find(key)).toBeUndefined();
    });

    it('replaces a payload on upsert and keeps models apart', async () => {
      const key = id();
      await adapter('Interaction').upsert(key, { uid: 'x', returnTo: '/a' }, 60);
      await adapter('Interaction').upsert(key, { uid: 'x', returnTo: '/b' }, 60);
      expect(await adapter('Interaction').find(key)).toEqual({ uid: 'x', returnTo: '/b' });
      expect(await adapter('Session').find(key)).toBeUndefined();
    });

    it('expires payloads after their TTL', async () => {
      const key = id();
      await adapter('Interaction').upsert(key, { uid: key }, 1);
      expect(await adapter('Interaction').find(key)).toBeDefined();
      await sleep(2100);
      expect(await adapter('Interaction').find(key)).toBeUndefined();
    });

    it('finds sessions by uid and device codes by user code', async () => {
      const sessionId = id();
      const uid = id();
      await adapter('Session').upsert(sessionId, { uid, accountId: 'acc' }, 60);
      expect(await adapter('Session').findByUid(uid)).toEqual({ uid, accountId: 'acc' });
      expect(await adapter('Session').findByUid(id())).toBeUndefined();
      const codeId = id();
      await adapter('DeviceCode').upsert(codeId, { userCode: 'ABCD-EFGH', grantId: 'g' }, 60);
      expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
    });

    it('revokes every token of a grant across models and leaves other grants alone', async () => {
      const grantId = id();
      const other = id();
      const [at, code, rt, kept] = [id(), id(), id(), id()];
      await adapter('AccessToken').upsert(at, { grantId }, 60);
      await adapter('AuthorizationCode').upsert(code, { grantId }, 60);
      await adapter('RefreshToken').upsert(rt, { grantId }, 60);
      await adapter('AccessToken').upsert(kept, { grantId: other }, 60);
      for (const model of ['AccessToken', 'AuthorizationCode', 'RefreshToken']) await adapter(model).revokeByGrantId(grantId);
      expect(await adapter('AccessToken').find(at)).toBeUndefined();
      expect(await adapter('AuthorizationCode').find(code)).toBeUndefined();
      expect(await adapter('RefreshToken').find(rt)).toBeUndefined();
      expect(await adapter('AccessToken').find(kept)).toEqual({ grantId: other });
    });

    it('marks a consumed code', async () => {
      const code = id();
      await adapter('AuthorizationCode').upsert(code, { grantId: id() }, 60);
      await adapter('AuthorizationCode').consume(code);
      const found = await adapter('AuthorizationCode').find(code);
      expect(typeof found?.consumed).toBe('number');
    });

    it('lets exactly one of two concurrent redemptions consume a code', async () => {
      const code = id();
      await adapter('AuthorizationCode').upsert(code, { grantId: id() }, 60);
      const results = await Promise.allSettled([adapter('AuthorizationCode').consume(code), adapter('AuthorizationCode').consume(code)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected?.reason).toMatchObject({ error: 'invalid_grant' });
    });

    it('on a replay revokes the grant, including tokens saved after the replay', async () => {
      const grantId = id();
      const code = id();
      const before = id();
      const after = id();
      await adapter('Grant').upsert(grantId, { accountId: 'acc', clientId: 'c' }, 60);
      await adapter('AuthorizationCode').upsert(code, { grantId }, 60);
      await adapter('AuthorizationCode').consume(code);
      await adapter('AccessToken').upsert(before, { grantId }, 60);
      await expect(adapter('AuthorizationCode').consume(code)).rejects.toMatchObject({ error: 'invalid_grant' });
      await adapter('AccessToken').upsert(after, { grantId }, 60);
      expect(await adapter('AccessToken').find(before)).toBeUndefined();
      expect(await adapter('AccessToken').find(after)).toBeUndefined();
      expect(await adapter('Grant').find(grantId)).toBeUndefined();
    });

    it('refuses to consume a code that does not exist', async () => {
      await expect(adapter('AuthorizationCode').consume(id())).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('keeps the bridge state with set, get, take and delete', async () => {
      const state = storage.state('bridge');
      const key = id();
      await state.set(key, { a: 1, list: [] }, 60);
      expect(await state.get(key)).toEqual({ a: 1, list: [] });
      expect(await state.take(key)).toEqual({ a: 1, list: [] });
      expect(await state.get(key)).toBeUndefined();
      await state.set(key, 'x', 60);
      await state.delete(key);
      expect(await state.get(key)).toBeUndefined();
    });

    it('gives a value taken concurrently to exactly one caller', async () => {
      const state = storage.state('bridge');
      const key = id();
      await state.set(key, 'once', 60);
      const results = await Promise.all([state.take(key), state.take(key), state.take(key)]);
      expect(results.filter((r) => r === 'once')).toHaveLength(1);
    });

    it('keeps namespaces apart', async () => {
      const key = id();
      await adapter('Session', 'one').upsert(key, { uid: 'u' }, 60);
      expect(await adapter('Session', 'two').find(key)).toBeUndefined();
      await storage.state('one').set(key, 1, 60);
      expect(await storage.state('two').get(key)).toBeUndefined();
    });
  });
}

conformance('memory', async () => createMemoryStorage(), (s) => s.close());

let server: RedisServerHandle;
const redisConfig = () => parseConfig({ redis: { url: server.url, keyPrefix: 'conformance:', commandTimeoutMs: 500 } }).redis;

conformance(
  'redis',
  async () => {
    server = await startRedisServer();
    const storage = createRedisStorage(redisConfig());
    await waitUntilAvailable(storage, 5000);
    return storage;
  },
  async (storage) => {
    await storage.close();
  },
);

describe('redis storage outside the contract', () => {
  let storage: Storage;
  let redisServer: RedisServerHandle;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    storage = createRedisStorage(parseConfig({ redis: { url: redisServer.url, keyPrefix: 'pfx:', commandTimeoutMs: 500 } }).redis);
    await waitUntilAvailable(storage, 5000);
  });
  afterAll(async () => {
    await storage.close();
    await redisServer.stop();
    await server?.stop();
  });

  it('puts every key under the configured prefix', async () => {
    const key = id();
    await storage.adapterFactory('op')('Session').upsert(key, { uid: key }, 60);
    const raw = new Redis(redisServer.url);
    try {
      const keys = await raw.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k) => k.startsWith('pfx:'))).toBe(true);
      expect(keys).toContain(`pfx:op:Session:${key}`);
    } finally {
      raw.disconnect();
    }
  });

  it('fails fast while Redis is down and recovers by itself when it returns', async () => {
    const state = storage.state('bridge');
    await state.set('k', 'v', 60);
    await redisServer.stop();
    // Bounded wait for the client to notice the closed connection.
    for (let i = 0; i < 100 && storage.isAvailable(); i += 1) await sleep(50);
    expect(storage.isAvailable()).toBe(false);
    await expect(state.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(storage.ping()).rejects.toBeInstanceOf(StoreUnavailableError);

    await redisServer.restart();
    expect(await waitUntilAvailable(storage, 10_000)).toBe(true);
    await state.set('k2', 'back', 60);
    expect(await state.get('k2')).toBe('back');
  });
});
