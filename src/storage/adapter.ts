import { errors } from 'oidc-provider';
import type { Backend } from './backend.js';
import type { Adapter, AdapterFactory, AdapterPayload, DurableStore, StateStore } from './types.js';

/**
 * oidc-provider's adapter contract, the bridge state and the durable records over a Backend, shared by
 * the Redis and the memory storage. The key layout is documented at the top of redis.ts.
 */

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** Long enough to outlive any token of the grant (refresh tokens are not issued by default). */
const REVOKED_GRANT_TTL_SECONDS = 24 * 60 * 60;

const epoch = (): number => Math.floor(Date.now() / 1000);

class Keys {
  constructor(private readonly base: string) {}
  record = (model: string, id: string): string => `${this.base}${model}:${id}`;
  sessionUid = (uid: string): string => `${this.base}sessionUid:${uid}`;
  userCode = (code: string): string => `${this.base}userCode:${code}`;
  grant = (grantId: string): string => `${this.base}grant:${grantId}`;
  revokedGrant = (grantId: string): string => `${this.base}revokedGrant:${grantId}`;
  state = (key: string): string => `${this.base}state:${key}`;
  durable = (key: string): string => `${this.base}durable:${key}`;
}

/**
 * Deletes every token issued under a grant, whatever its model, and the membership set (one DEL per
 * key). Any model's revokeByGrantId does all of it, as oidc-provider's memory adapter does: the
 * provider only asks the models the client's grant types allow today, which may not be all it held.
 */
async function deleteGrantMembers(backend: Backend, keys: Keys, grantId: string): Promise<void> {
  const members = await backend.members(keys.grant(grantId));
  await Promise.all(members.map((key) => backend.delete(key)));
  await backend.delete(keys.grant(grantId));
}

/** A replay: delete the grant and its tokens, and remember it so tokens saved later are not found either. */
async function revokeGrant(backend: Backend, keys: Keys, grantId: string): Promise<void> {
  // Tombstone first: a concurrent winner may still be saving tokens of this grant.
  await backend.setValue(keys.revokedGrant(grantId), '1', REVOKED_GRANT_TTL_SECONDS);
  await Promise.all([deleteGrantMembers(backend, keys, grantId), backend.delete(keys.record('Grant', grantId))]);
}

class BackendAdapter implements Adapter {
  constructor(
    private readonly backend: Backend,
    private readonly keys: Keys,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const ttl = typeof expiresIn === 'number' && expiresIn > 0 ? Math.ceil(expiresIn) : undefined;
    const key = this.keys.record(this.model, id);
    // A payload saved with its consumption mark keeps it: consume must not succeed on it again.
    const consumed = typeof payload.consumed === 'number' ? payload.consumed : undefined;
    await this.backend.putRecord(key, JSON.stringify(payload), ttl, consumed);
    if (this.model === 'Session' && payload.uid) await this.backend.setValue(this.keys.sessionUid(payload.uid), id, ttl);
    if (payload.userCode) await this.backend.setValue(this.keys.userCode(payload.userCode), id, ttl);
    if (GRANTABLE.has(this.model) && payload.grantId) await this.backend.addMember(this.keys.grant(payload.grantId), key, ttl);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const record = await this.backend.getRecord(this.keys.record(this.model, id));
    if (!record) return undefined;
    const payload = JSON.parse(record.payload) as AdapterPayload;
    const grantId = this.model === 'Grant' ? id : payload.grantId;
    if (grantId && (await this.backend.getValue(this.keys.revokedGrant(grantId))) !== undefined) return undefined;
    return record.consumed === undefined ? payload : { ...payload, consumed: record.consumed };
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.backend.getValue(this.keys.sessionUid(uid));
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.backend.getValue(this.keys.userCode(userCode));
    return id === undefined ? undefined : this.find(id);
  }

  async destroy(id: string): Promise<void> {
    await this.backend.delete(this.keys.record(this.model, id));
  }

  /**
   * Atomic: of two concurrent redemptions exactly one consumes. The loser, like any replay, revokes
   * the whole grant (tokens the winner obtains afterwards included) and gets invalid_grant.
   */
  async consume(id: string): Promise<void> {
    const key = this.keys.record(this.model, id);
    const outcome = await this.backend.consumeRecord(key, epoch());
    if (outcome === 'ok') return;
    if (outcome === 'already') {
      const record = await this.backend.getRecord(key);
      const grantId = record ? (JSON.parse(record.payload) as AdapterPayload).grantId : undefined;
      if (grantId) await revokeGrant(this.backend, this.keys, grantId);
    }
    throw new errors.InvalidGrant(`${this.model === 'AuthorizationCode' ? 'authorization code' : 'grant'} already consumed`);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await deleteGrantMembers(this.backend, this.keys, grantId);
  }
}

/** JSON values at keys made by `keyOf`: what the bridge's state and its durable records share. */
class JsonValues {
  constructor(
    protected readonly backend: Backend,
    protected readonly keyOf: (key: string) => string,
  ) {}

  protected async write(key: string, value: unknown, ttlSeconds?: number): Promise<void> {
    await this.backend.setValue(this.keyOf(key), JSON.stringify(value), ttlSeconds);
  }

  async get<T>(key: string): Promise<T | undefined> {
    const raw = await this.backend.getValue(this.keyOf(key));
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async take<T>(key: string): Promise<T | undefined> {
    const raw = await this.backend.takeValue(this.keyOf(key));
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async delete(key: string): Promise<void> {
    await this.backend.delete(this.keyOf(key));
  }
}

class BackendStateStore extends JsonValues implements StateStore {
  set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    return this.write(key, value, ttlSeconds);
  }

  add(key: string, value: unknown, ttlSeconds: number): Promise<boolean> {
    return this.backend.addValue(this.keyOf(key), JSON.stringify(value), ttlSeconds);
  }
}

export function adapterFactoryOver(backend: Backend, base: string): AdapterFactory {
  const keys = new Keys(base);
  return (model: string) => new BackendAdapter(backend, keys, model);
}

export function stateStoreOver(backend: Backend, base: string): StateStore {
  return new BackendStateStore(backend, new Keys(base).state);
}

class BackendDurableStore extends JsonValues implements DurableStore {
  put(key: string, value: unknown, ttlSeconds?: number): Promise<void> {
    return this.write(key, value, ttlSeconds);
  }

  async addMember(key: string, member: string): Promise<void> {
    await this.backend.addMember(this.keyOf(key), member);
  }

  async members(key: string): Promise<string[]> {
    return this.backend.members(this.keyOf(key));
  }

  async append(key: string, value: unknown): Promise<void> {
    await this.backend.append(this.keyOf(key), JSON.stringify(value));
  }

  async range<T>(key: string, start: number, stop: number): Promise<T[]> {
    return (await this.backend.range(this.keyOf(key), start, stop)).map((raw) => JSON.parse(raw) as T);
  }

  async appendLinked<T>(key: string, build: (last: T | undefined) => T): Promise<T> {
    const list = this.keyOf(key);
    // Concurrent appenders (instances) retry after one another; each sees the element it follows.
    for (let attempt = 0; attempt < LINKED_APPEND_ATTEMPTS; attempt += 1) {
      const [lastRaw] = await this.backend.range(list, -1, -1);
      const value = build(lastRaw === undefined ? undefined : (JSON.parse(lastRaw) as T));
      if (await this.backend.appendAfter(list, lastRaw, JSON.stringify(value))) return value;
    }
    throw new Error(`${key}: too many concurrent appends`);
  }

  length(key: string): Promise<number> {
    return this.backend.length(this.keyOf(key));
  }
}

const LINKED_APPEND_ATTEMPTS = 50;

export function durableStoreOver(backend: Backend, base: string): DurableStore {
  return new BackendDurableStore(backend, new Keys(base).durable);
}
