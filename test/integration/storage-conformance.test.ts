import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { errors } from 'oidc-provider';
import { parseConfig } from '../../src/config/load.js';
import { createMemoryStorage } from '../../src/storage/memory.js';
import { createRedisStorage } from '../../src/storage/redis.js';
import { StoreUnavailableError, type Storage } from '../../src/storage/types.js';
import { createStorage, waitUntilAvailable } from '../../src/storage/index.js';
import { NOTHING_LISTENS_PORT } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';
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

    it('expires payloads and state after their TTL', async () => {
      const key = id();
      await adapter('Interaction').upsert(key, { uid: key }, 1);
      await adapter('Interaction').upsert(`${key}-kept`, { uid: key }, 60);
      await storage.state('bridge').set(key, 'short', 1);
      expect(await adapter('Interaction').find(key)).toEqual({ uid: key });
      expect(await storage.state('bridge').get(key)).toBe('short');
      // Gone once the second has passed (bounded: a store that never expires them fails here).
      await eventually(async () => (await adapter('Interaction').find(key)) === undefined && (await storage.state('bridge').get(key)) === undefined, {
        timeoutMs: 4000,
        what: 'the 1 s payload and state expiring',
      });
      expect(await adapter('Interaction').find(`${key}-kept`)).toEqual({ uid: key });
    });

    it('keeps no payload without a TTL from expiring', async () => {
      const key = id();
      await adapter('Client').upsert(key, { client_id: key }, undefined);
      expect(await adapter('Client').find(key)).toEqual({ client_id: key });
    });

    it('hands out copies: callers cannot change what is stored', async () => {
      const key = id();
      const payload = { uid: key, nested: { a: 1 } };
      await adapter('Session').upsert(key, payload, 60);
      payload.nested.a = 2;
      const found = await adapter('Session').find(key);
      expect(found).toEqual({ uid: key, nested: { a: 1 } });
      (found as { nested: { a: number } }).nested.a = 3;
      expect(await adapter('Session').find(key)).toEqual({ uid: key, nested: { a: 1 } });
      const value = { list: [1] };
      await storage.state('bridge').set(key, value, 60);
      value.list.push(2);
      expect(await storage.state('bridge').get(key)).toEqual({ list: [1] });
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
      expect(await adapter('DeviceCode').findByUserCode('ZZZZ-ZZZZ')).toBeUndefined();
      await adapter('Session').destroy(sessionId);
      expect(await adapter('Session').findByUid(uid)).toBeUndefined();
    });

    it('revokes every token of a grant across models and leaves other grants alone', async () => {
      const grantId = id();
      const other = id();
      const [at, code, rt, dc, kept] = [id(), id(), id(), id(), id()];
      await adapter('AccessToken').upsert(at, { grantId }, 60);
      await adapter('AuthorizationCode').upsert(code, { grantId }, 60);
      await adapter('RefreshToken').upsert(rt, { grantId }, 600);
      await adapter('DeviceCode').upsert(dc, { grantId, userCode: id() }, 60);
      await adapter('AccessToken').upsert(kept, { grantId: other }, 60);
      // One model's call revokes them all (oidc-provider asks only the models the client uses today).
      await adapter('AccessToken').revokeByGrantId(grantId);
      expect(await adapter('AccessToken').find(at)).toBeUndefined();
      expect(await adapter('AuthorizationCode').find(code)).toBeUndefined();
      expect(await adapter('RefreshToken').find(rt)).toBeUndefined();
      expect(await adapter('DeviceCode').find(dc)).toBeUndefined();
      expect(await adapter('AccessToken').find(kept)).toEqual({ grantId: other });
      // A revocation is not a tombstone: the grant's id can be used again.
      const again = id();
      await adapter('AccessToken').upsert(again, { grantId }, 60);
      expect(await adapter('AccessToken').find(again)).toEqual({ grantId });
    });

    it('revokes concurrently from every model without leaving tokens behind', async () => {
      const grantId = id();
      const tokens = [id(), id(), id()];
      for (const token of tokens) await adapter('AccessToken').upsert(token, { grantId }, 60);
      await adapter('RefreshToken').upsert(tokens[0]!, { grantId }, 60);
      await Promise.all(['AccessToken', 'AuthorizationCode', 'RefreshToken'].map((model) => adapter(model).revokeByGrantId(grantId)));
      for (const token of tokens) expect(await adapter('AccessToken').find(token)).toBeUndefined();
      expect(await adapter('RefreshToken').find(tokens[0]!)).toBeUndefined();
    });

    it('marks a consumed code', async () => {
      const code = id();
      await adapter('AuthorizationCode').upsert(code, { grantId: id() }, 60);
      await adapter('AuthorizationCode').consume(code);
      const found = await adapter('AuthorizationCode').find(code);
      const now = Math.floor(Date.now() / 1000);
      expect(found?.consumed).toBeGreaterThanOrEqual(now - 5);
      expect(found?.consumed).toBeLessThanOrEqual(now);
    });

    it('keeps the consumption mark of a payload saved with one', async () => {
      const code = id();
      await adapter('RefreshToken').upsert(code, { grantId: id(), consumed: 1_700_000_000 }, 60);
      expect(await adapter('RefreshToken').find(code)).toMatchObject({ consumed: 1_700_000_000 });
      await expect(adapter('RefreshToken').consume(code)).rejects.toBeInstanceOf(errors.InvalidGrant);
    });

    it('lets exactly one of two concurrent redemptions consume a code', async () => {
      const code = id();
      await adapter('AuthorizationCode').upsert(code, { grantId: id() }, 60);
      const results = await Promise.allSettled([adapter('AuthorizationCode').consume(code), adapter('AuthorizationCode').consume(code)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toBeInstanceOf(errors.InvalidGrant);
      expect(rejected[0]!.reason).toMatchObject({ error: 'invalid_grant', statusCode: 400 });
      // The loser treated it as a replay: the code's grant is revoked.
      expect(await adapter('AuthorizationCode').find(code)).toBeUndefined();
    });

    it('lets exactly one of many concurrent consumers win, from separate adapters', async () => {
      const code = id();
      await adapter('RefreshToken').upsert(code, { grantId: id() }, 60);
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => storage.adapterFactory('op')('RefreshToken').consume(code)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected' && (r.reason as { error?: string }).error === 'invalid_grant')).toHaveLength(7);
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
      await adapter('RefreshToken').upsert(after, { grantId }, 600);
      expect(await adapter('AccessToken').find(before)).toBeUndefined();
      expect(await adapter('AccessToken').find(after)).toBeUndefined();
      expect(await adapter('RefreshToken').find(after)).toBeUndefined();
      expect(await adapter('Grant').find(grantId)).toBeUndefined();
      // Saved again by a request that was already under way: still revoked.
      await adapter('Grant').upsert(grantId, { accountId: 'acc', clientId: 'c' }, 60);
      expect(await adapter('Grant').find(grantId)).toBeUndefined();
      // Other grants are untouched.
      const otherGrant = id();
      await adapter('Grant').upsert(otherGrant, { accountId: 'acc', clientId: 'c' }, 60);
      expect(await adapter('Grant').find(otherGrant)).toEqual({ accountId: 'acc', clientId: 'c' });
    });

    it('refuses to consume a code that does not exist', async () => {
      await expect(adapter('AuthorizationCode').consume(id())).rejects.toMatchObject({ error: 'invalid_grant' });
      // ... and does not create one.
      const code = id();
      await expect(adapter('AuthorizationCode').consume(code)).rejects.toBeInstanceOf(errors.InvalidGrant);
      expect(await adapter('AuthorizationCode').find(code)).toBeUndefined();
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

    it('never shortens a value kept longer: a later write and an extension keep the longer lifetime', async () => {
      const state = storage.state('bridge');
      const key = id();
      await state.setKeepingLonger(key, 'first', 60);
      expect(await state.secondsLeft(key)).toBe(60);
      await state.extend(key, 3600);
      expect(await state.secondsLeft(key)).toBe(3600);
      await state.extend(key, 10);
      expect(await state.secondsLeft(key)).toBe(3600);
      // A new value keeps the longer lifetime; a longer one of its own wins.
      await state.setKeepingLonger(key, 'second', 60);
      expect(await state.get(key)).toBe('second');
      expect(await state.secondsLeft(key)).toBe(3600);
      await state.setKeepingLonger(key, 'third', 7200);
      expect(await state.secondsLeft(key)).toBe(7200);
      // An extension never brings back a value that is gone.
      const gone = id();
      await state.extend(gone, 60);
      expect(await state.get(gone)).toBeUndefined();
      expect(await state.secondsLeft(gone)).toBeUndefined();
    });

    it('lets a value kept for a short time expire on time', async () => {
      const state = storage.state('bridge');
      const key = id();
      await state.setKeepingLonger(key, 'brief', 1);
      await eventually(async () => (await state.get(key)) === undefined, { what: 'the value to expire' });
      // Extended before it expires, it outlives its first lifetime.
      await state.setKeepingLonger(key, 'extended', 1);
      await state.extend(key, 60);
      expect(await state.secondsLeft(key)).toBe(60);
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
      expect(await storage.state('one').get(key)).toBe(1);
      // A replay in one namespace revokes nothing in another.
      const grantId = id();
      const code = id();
      for (const ns of ['one', 'two']) {
        await adapter('AuthorizationCode', ns).upsert(code, { grantId }, 60);
        await adapter('AccessToken', ns).upsert(code, { grantId }, 60);
      }
      await adapter('AuthorizationCode', 'one').consume(code);
      await expect(adapter('AuthorizationCode', 'one').consume(code)).rejects.toBeInstanceOf(errors.InvalidGrant);
      expect(await adapter('AccessToken', 'one').find(code)).toBeUndefined();
      expect(await adapter('AccessToken', 'two').find(code)).toEqual({ grantId });
    });
  });
}

conformance(
  'memory',
  async () => createMemoryStorage(),
  (s) => s.close(),
);

let server: RedisServerHandle | undefined;
const redisConfig = (url: string, keyPrefix: string) => parseConfig({ redis: { url, keyPrefix, commandTimeoutMs: 500 } }).redis;

conformance(
  'redis',
  async () => {
    server = await startRedisServer();
    const storage = createRedisStorage(redisConfig(server.url, 'conformance:'));
    expect(await waitUntilAvailable(storage, 5000)).toBe(true);
    return storage;
  },
  async (storage) => {
    await storage.close();
    await server?.stop();
  },
);

describe('redis storage outside the contract', () => {
  let storage: Storage;
  let redisServer: RedisServerHandle;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    storage = createRedisStorage(redisConfig(redisServer.url, 'pfx:'), { onError: (err) => errorsSeen.push(err) });
    expect(await waitUntilAvailable(storage, 5000)).toBe(true);
  });
  afterAll(async () => {
    await storage.close();
    await redisServer.stop();
  });
  const errorsSeen: Error[] = [];

  it('is chosen by createStorage when a URL is configured, memory otherwise', async () => {
    const chosen = createStorage(redisConfig(redisServer.url, 'pfx:'));
    const memory = createStorage(parseConfig({}).redis);
    try {
      expect(chosen.kind).toBe('redis');
      expect(memory.kind).toBe('memory');
    } finally {
      await chosen.close();
      await memory.close();
    }
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
      expect(keys).toContain(`pfx:op:sessionUid:${key}`);
    } finally {
      raw.disconnect();
    }
  });

  it('keeps a grant set as long as its longest-lived token, and deletes it on revocation', async () => {
    const grantId = id();
    const factory = storage.adapterFactory('op');
    await factory('RefreshToken').upsert(id(), { grantId }, 600);
    await factory('AccessToken').upsert(id(), { grantId }, 60);
    const raw = new Redis(redisServer.url);
    try {
      const ttl = await raw.ttl(`pfx:op:grant:${grantId}`);
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
      expect(await raw.scard(`pfx:op:grant:${grantId}`)).toBe(2);
      await factory('AuthorizationCode').revokeByGrantId(grantId);
      expect(await raw.exists(`pfx:op:grant:${grantId}`)).toBe(0);
      expect(await raw.keys(`pfx:op:*Token:*`)).not.toEqual(expect.arrayContaining([expect.stringContaining(grantId)]));
    } finally {
      raw.disconnect();
    }
  });

  it('keeps the TTL of a code when it is consumed', async () => {
    const code = id();
    await storage.adapterFactory('op')('AuthorizationCode').upsert(code, { grantId: id() }, 60);
    await storage.adapterFactory('op')('AuthorizationCode').consume(code);
    const raw = new Redis(redisServer.url);
    try {
      const ttl = await raw.ttl(`pfx:op:AuthorizationCode:${code}`);
      expect(ttl).toBeGreaterThan(50);
      expect(ttl).toBeLessThanOrEqual(60);
    } finally {
      raw.disconnect();
    }
  });

  it('fails fast with StoreUnavailableError when no server answers, and closes cleanly', async () => {
    const nowhere = createRedisStorage(redisConfig(`redis://127.0.0.1:${NOTHING_LISTENS_PORT}`, 'pfx:'), { onError: () => {} });
    try {
      expect(nowhere.isAvailable()).toBe(false);
      await expect(nowhere.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      const failure = await nowhere
        .state('bridge')
        .get('k')
        .catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect((failure as StoreUnavailableError).cause).toBeInstanceOf(Error);
    } finally {
      await expect(nowhere.close()).resolves.toBeUndefined();
    }
  });

  it('fails fast while Redis is down and recovers by itself when it returns', async () => {
    const state = storage.state('bridge');
    await state.set('k', 'v', 60);
    await redisServer.stop();
    await eventually(() => !storage.isAvailable(), { what: 'the client noticing the closed connection' });
    await expect(state.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(storage.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    const codes = storage.adapterFactory('op')('AuthorizationCode');
    // An outage is never mistaken for a missing or replayed code.
    await expect(codes.consume(id())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(codes.find(id())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(codes.upsert(id(), { grantId: id() }, 60)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(state.take('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    // Connection errors (refused reconnects) go to the listener, not to stderr.
    await eventually(() => errorsSeen.length > 0, { what: 'a connection error reaching the listener' });

    await redisServer.restart();
    expect(await waitUntilAvailable(storage, 10_000)).toBe(true);
    await state.set('k2', 'back', 60);
    expect(await state.get('k2')).toBe('back');
  });
});
