import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { RedisConfig } from '../config/schema.js';
import { adapterFactoryOver, durableStoreOver, stateStoreOver } from './adapter.js';
import type { Backend } from './backend.js';
import { metrics } from '../observability/metrics.js';
import { StoreUnavailableError, type CounterOptions, type Storage, type StoreDurability } from './types.js';

/*
 * Key layout. Every key starts with `<keyPrefix><namespace>:` (namespace: one issuer, the test
 * directory, ...):
 *   <Model>:<id>            HASH    `payload` (JSON) and `consumed` (epoch seconds, set once); TTL = expiresIn
 *   sessionUid:<uid>        STRING  Session id, for findByUid; TTL of the session
 *   userCode:<code>         STRING  record id, for findByUserCode; TTL of the record
 *   grant:<grantId>         SET     keys of the grant's tokens (all grantable models); TTL = longest member
 *   revokedGrant:<grantId>  STRING  tombstone after a code replay: the grant's tokens, also ones saved
 *                                   later, and the Grant record are not found; 1 day
 *   state:<key>             STRING  the bridge's short-lived state (JSON); `take` is GETDEL
 *   durable:<key>           STRING (JSON) / SET (addMember) / LIST (append): long-lived records
 *
 * Every command and script touches exactly one key, so the layout runs unchanged on Redis Cluster
 * (no MULTI, no multi-key DEL, no hash tags needed): revocation is one DEL per key.
 */

// A compare-and-append on one list: the element is added only after the one the caller has read.
const APPEND_AFTER = `
local last = redis.call('LINDEX', KEYS[1], -1)
if ARGV[1] == '0' then
  if last then return 0 end
elseif last ~= ARGV[2] then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[3])
return 1`;

const PUT_RECORD = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'consumed', ARGV[3]) end
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

// Compare-and-set of the consumption mark; never creates a record that does not exist.
const CONSUME_RECORD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

// The set lives as long as its longest-lived member.
const ADD_MEMBER = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
local current = redis.call('TTL', KEYS[1])
if ttl <= 0 then
  if current >= 0 then redis.call('PERSIST', KEYS[1]) end
elseif current >= 0 and current < ttl then
  redis.call('EXPIRE', KEYS[1], ttl)
elseif current == -1 and redis.call('SCARD', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return 1`;

// The value lives the longer of the asked time and the time it had left (a later write never shortens it).
const SET_KEEPING_LONGER = `
local left = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[2])
if left > wanted then wanted = left end
redis.call('SET', KEYS[1], ARGV[1], 'PX', wanted)
return 1`;

// Extends, never shortens, and never creates (PEXPIRE ... GT would need Redis 7).
const EXTEND = `
local left = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[1])
if left >= 0 and left < wanted then redis.call('PEXPIRE', KEYS[1], wanted) end
return 1`;

interface ScriptCommands {
  putRecord(key: string, payload: string, ttl: number, consumed: string): Promise<number>;
  consumeRecord(key: string, at: number): Promise<number>;
  addMember(key: string, member: string, ttl: number): Promise<number>;
  setKeepingLonger(key: string, value: string, ttlMs: number): Promise<number>;
  extend(key: string, ttlMs: number): Promise<number>;
}
type Client = (Redis | Cluster) & ScriptCommands;

const RECONNECT_MAX_DELAY_MS = 100;
/**
 * A Redis that is stopped but keeps its socket open (SIGSTOP, a hung host) answers nothing, and every
 * command would wait the full command timeout. After this many timeouts in a row the store fails
 * fast (503 at once) and a background ping every PROBE_INTERVAL_MS finds when it answers again.
 */
const STALL_AFTER_TIMEOUTS = 3;
const PROBE_INTERVAL_MS = 100;

const isTimeout = (err: unknown): boolean => err instanceof Error && /timed out/i.test(err.message);

function connect(config: RedisConfig): Redis | Cluster {
  // Fail fast, never hang: no offline queue, a bounded time per command, reconnect forever in the
  // background so the bridge recovers by itself when Redis returns.
  const common: RedisOptions = {
    enableOfflineQueue: false,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: config.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    // Back again within ~100 ms of Redis answering (a reconnect attempt is one cheap TCP connect).
    retryStrategy: (times: number) => Math.min(times * 50, RECONNECT_MAX_DELAY_MS),
    enableReadyCheck: true,
    lazyConnect: false,
    // Commands issued in the same tick (the requests of many concurrent logins) leave in one write and
    // one read of the server: fewer syscalls on both sides, the same commands and the same answers.
    enableAutoPipelining: true,
  };
  const credentials: RedisOptions = {
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
    ...(config.tls ? { tls: {} } : {}),
  };
  if (config.mode === 'cluster') {
    return new Cluster(config.nodes ?? [], {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times: number) => Math.min(times * 50, RECONNECT_MAX_DELAY_MS),
      redisOptions: { ...common, ...credentials },
    });
  }
  if (config.mode === 'sentinel') {
    return new Redis({ ...common, ...credentials, sentinels: config.sentinels ?? [], name: config.sentinelName ?? 'mymaster' });
  }
  // No silent fallback to a default server: createStorage picks memory when no URL is configured.
  if (!config.url) throw new Error('redis: mode "single" needs `url`');
  return new Redis(config.url, common);
}

class RedisBackend implements Backend {
  private readonly client: Client;
  private consecutiveTimeouts = 0;
  /** Set while Redis is connected but not answering: commands fail at once until a probe succeeds. */
  private stalled = false;
  private closed = false;

  constructor(config: RedisConfig, onError: (err: Error) => void) {
    const client = connect(config);
    client.defineCommand('putRecord', { numberOfKeys: 1, lua: PUT_RECORD });
    client.defineCommand('consumeRecord', { numberOfKeys: 1, lua: CONSUME_RECORD });
    client.defineCommand('addMember', { numberOfKeys: 1, lua: ADD_MEMBER });
    client.defineCommand('setKeepingLonger', { numberOfKeys: 1, lua: SET_KEEPING_LONGER });
    client.defineCommand('extend', { numberOfKeys: 1, lua: EXTEND });
    // Without a listener ioredis reports connection errors on stderr; they go to our logger instead.
    client.on('error', onError);
    this.client = client as Client;
    this.onError = onError;
  }

  private readonly onError: (err: Error) => void;

  private stall(): void {
    if (this.stalled || this.closed) return;
    this.stalled = true;
    this.onError(new Error(`Redis stopped answering (${STALL_AFTER_TIMEOUTS} command timeouts in a row): failing fast until it answers`));
    const probe = (): void => {
      if (this.closed) return;
      this.client.ping().then(
        () => {
          this.stalled = false;
          this.consecutiveTimeouts = 0;
        },
        () => setTimeout(probe, PROBE_INTERVAL_MS).unref(),
      );
    };
    setTimeout(probe, PROBE_INTERVAL_MS).unref();
  }

  /** Every failure of the store is an outage to the caller (503), with the cause kept for the log. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.stalled) {
      metrics.storeErrors.inc();
      throw new StoreUnavailableError('the session store is not answering');
    }
    const end = metrics.storeCommands.startTimer();
    try {
      const result = await command();
      this.consecutiveTimeouts = 0;
      return result;
    } catch (err) {
      if (isTimeout(err)) {
        this.consecutiveTimeouts += 1;
        if (this.consecutiveTimeouts >= STALL_AFTER_TIMEOUTS) this.stall();
      }
      metrics.storeErrors.inc();
      throw new StoreUnavailableError('the session store is unavailable', { cause: err });
    } finally {
      end();
    }
  }

  putRecord(key: string, payload: string, ttlSeconds?: number, consumed?: number): Promise<void> {
    return this.run(async () => {
      await this.client.putRecord(key, payload, ttlSeconds ?? 0, consumed === undefined ? '' : String(consumed));
    });
  }

  getRecord(key: string): Promise<{ payload: string; consumed?: number } | undefined> {
    return this.run(async () => {
      const hash = await this.client.hgetall(key);
      if (hash.payload === undefined) return undefined;
      return hash.consumed === undefined ? { payload: hash.payload } : { payload: hash.payload, consumed: Number(hash.consumed) };
    });
  }

  consumeRecord(key: string, at: number): Promise<'ok' | 'already' | 'missing'> {
    return this.run(async () => {
      const result = await this.client.consumeRecord(key, at);
      return result === 1 ? 'ok' : result === 0 ? 'already' : 'missing';
    });
  }

  setValue(key: string, value: string, ttlSeconds?: number): Promise<void> {
    return this.run(async () => {
      if (ttlSeconds === undefined) await this.client.set(key, value);
      else await this.client.set(key, value, 'EX', ttlSeconds);
    });
  }

  getValue(key: string): Promise<string | undefined> {
    return this.run(async () => (await this.client.get(key)) ?? undefined);
  }

  takeValue(key: string): Promise<string | undefined> {
    return this.run(async () => (await this.client.getdel(key)) ?? undefined);
  }

  addValue(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return this.run(async () => (await this.client.set(key, value, 'EX', ttlSeconds, 'NX')) === 'OK');
  }

  setValueKeepingLonger(key: string, value: string, ttlSeconds: number): Promise<void> {
    return this.run(async () => {
      await this.client.setKeepingLonger(key, value, ttlSeconds * 1000);
    });
  }

  secondsLeft(key: string): Promise<number | undefined> {
    return this.run(async () => {
      const ms = await this.client.pttl(key);
      return ms >= 0 ? Math.ceil(ms / 1000) : undefined;
    });
  }

  extendValue(key: string, ttlSeconds: number): Promise<void> {
    return this.run(async () => {
      await this.client.extend(key, ttlSeconds * 1000);
    });
  }

  delete(key: string): Promise<void> {
    return this.run(async () => {
      await this.client.del(key);
    });
  }

  addMember(key: string, member: string, ttlSeconds?: number): Promise<void> {
    return this.run(async () => {
      await this.client.addMember(key, member, ttlSeconds ?? 0);
    });
  }

  members(key: string): Promise<string[]> {
    return this.run(() => this.client.smembers(key));
  }

  append(key: string, value: string): Promise<void> {
    return this.run(async () => {
      await this.client.rpush(key, value);
    });
  }

  range(key: string, start: number, stop: number): Promise<string[]> {
    return this.run(() => this.client.lrange(key, start, stop));
  }

  appendAfter(key: string, expectedLast: string | undefined, value: string): Promise<boolean> {
    return this.run(async () => (await this.client.eval(APPEND_AFTER, 1, key, expectedLast === undefined ? '0' : '1', expectedLast ?? '', value)) === 1);
  }

  length(key: string): Promise<number> {
    return this.run(() => this.client.llen(key));
  }

  /** Counters on the same connection (its timeouts and no offline queue: a down store fails fast). */
  rateLimiter(keyPrefix: string, options: CounterOptions): RateLimiterRedis {
    return new RateLimiterRedis({
      storeClient: this.client,
      rejectIfRedisNotReady: true,
      keyPrefix: `${keyPrefix}limit:${options.name}`,
      points: options.points,
      duration: options.durationSeconds,
    });
  }

  isAvailable(): boolean {
    return this.client.status === 'ready' && !this.stalled;
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  /** CONFIG GET on one server (every master of a cluster); a managed Redis may refuse CONFIG. */
  async durability(): Promise<StoreDurability> {
    const servers = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const setting = async (name: string): Promise<string[]> =>
      Promise.all(
        servers.map(async (server) => {
          const answer = (await server.config('GET', name)) as unknown as string[];
          return String(answer[1] ?? '');
        }),
      );
    try {
      const appendOnly = await setting('appendonly');
      const policies = await setting('maxmemory-policy');
      return { appendOnly: appendOnly.every((v) => v === 'yes'), evictionPolicy: policies.find((p) => p !== 'noeviction') ?? policies[0] };
    } catch {
      return { appendOnly: undefined, evictionPolicy: undefined };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

export interface RedisStorageOptions {
  onError?: (err: Error) => void;
}

export function createRedisStorage(config: RedisConfig, options: RedisStorageOptions = {}): Storage {
  const backend = new RedisBackend(config, options.onError ?? (() => {}));
  return {
    kind: 'redis',
    adapterFactory: (namespace) => adapterFactoryOver(backend, `${config.keyPrefix}${namespace}:`),
    state: (namespace) => stateStoreOver(backend, `${config.keyPrefix}${namespace}:`),
    durable: (namespace) => durableStoreOver(backend, `${config.keyPrefix}${namespace}:`),
    rateLimiter: (options) => backend.rateLimiter(config.keyPrefix, options),
    isAvailable: () => backend.isAvailable(),
    ping: () => backend.ping(),
    durability: () => backend.durability(),
    close: () => backend.close(),
  };
}
