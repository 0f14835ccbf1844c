import { AsyncLocalStorage } from 'node:async_hooks';
import { errors } from 'oidc-provider';
import type { Backend } from './backend.js';
import type { Adapter, AdapterFactory, AdapterPayload, DurableStore, StateStore } from './types.js';

/**
 * oidc-provider's adapter contract, the bridge state and the durable records over a Backend, shared by
 * the Redis and the memory storage. The key layout is documented at the top of redis.ts.
 */

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

/** Long enough to outlive any token of the grant (refresh tokens are not issued by default). */
const REVOKED_GRANT_TTL_SECONDS = 24 * 60 * 60;

const epoch = (): number => Math.floor(Date.now() / 1000);

/*
 * Retry-safe provider requests. oidc-provider spends one-time state before its own writes: the
 * resume route destroys the interaction before the session is saved, and the token endpoint marks
 * the code consumed before the tokens are saved. When the store fails in between, the browser's
 * reload or the service's repeated token request could never succeed. Within a provider request
 * (`retrySafeRequest`) the adapters therefore
 *   - defer destroying an Interaction until the request ended without a store failure, so the same
 *     browser (holding the signed resume cookie) can resume again;
 *   - note which codes the request consumed; when the request fails on the store, each such code
 *     may be redeemed once more, for a short window, in this process. oidc-provider checks client
 *     authentication, client id, PKCE and redirect_uri before it looks at the consumption, so only
 *     the same service with the same code_verifier gets that far; a replay after a successful
 *     redemption, or the loser of a race, still finds the code consumed and revokes the grant.
 */
interface RequestLedger {
  consumed: string[];
  destroys: Array<() => Promise<void>>;
}
const requestLedger = new AsyncLocalStorage<RequestLedger>();
/** Record keys of codes whose redemption failed on the store → until when one more redemption may take them. */
const releasedConsumptions = new Map<string, number>();
const RELEASE_WINDOW_MS = 2 * 60 * 1000;
const RELEASED_MAX = 10_000;

function isReleased(key: string): boolean {
  const until = releasedConsumptions.get(key);
  if (until === undefined) return false;
  if (until > Date.now()) return true;
  releasedConsumptions.delete(key);
  return false;
}

function release(keys: string[]): void {
  for (const key of keys) {
    releasedConsumptions.delete(key);
    releasedConsumptions.set(key, Date.now() + RELEASE_WINDOW_MS);
  }
  // Insertion order is age order: the oldest go first when a long outage fills the map.
  for (const oldest of releasedConsumptions.keys()) {
    if (releasedConsumptions.size <= RELEASED_MAX) break;
    releasedConsumptions.delete(oldest);
  }
}

/**
 * Runs one provider request with the adapters' one-time operations held back as described above.
 * `failedOnStore` is asked after the request: true when the store failed under it (the client got a 503).
 */
export async function retrySafeRequest(run: () => Promise<void>, failedOnStore: () => boolean): Promise<void> {
  const ledger: RequestLedger = { consumed: [], destroys: [] };
  let failed = true;
  try {
    await requestLedger.run(ledger, run);
    failed = failedOnStore();
  } finally {
    if (failed) release(ledger.consumed);
  }
  if (failed) return;
  // The answer stands; a destroy the store refuses now leaves the record to its TTL (the resume
  // cookie is already cleared in the browser), which is no reason to fail the answer.
  await Promise.all(ledger.destroys.map((destroy) => destroy().catch(() => undefined)));
}

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
    const consumed = record.consumed !== undefined && !isReleased(this.keys.record(this.model, id));
    return consumed ? { ...payload, consumed: record.consumed } : payload;
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
    const key = this.keys.record(this.model, id);
    const ledger = this.model === 'Interaction' ? requestLedger.getStore() : undefined;
    if (ledger) ledger.destroys.push(() => this.backend.delete(key));
    else await this.backend.delete(key);
  }

  /**
   * Atomic: of two concurrent redemptions exactly one consumes. The loser, like any replay, revokes
   * the whole grant (tokens the winner obtains afterwards included) and gets invalid_grant.
   */
  async consume(id: string): Promise<void> {
    const key = this.keys.record(this.model, id);
    // Noted before the write: a write whose answer is lost may still have landed.
    requestLedger.getStore()?.consumed.push(key);
    const outcome = await this.backend.consumeRecord(key, epoch());
    if (outcome === 'ok') return;
    // The repeat of a redemption that failed on the store (see retrySafeRequest): once.
    if (outcome === 'already' && isReleased(key) && releasedConsumptions.delete(key)) return;
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

  setKeepingLonger(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    return this.backend.setValueKeepingLonger(this.keyOf(key), JSON.stringify(value), ttlSeconds);
  }

  extend(key: string, ttlSeconds: number): Promise<void> {
    return this.backend.extendValue(this.keyOf(key), ttlSeconds);
  }

  secondsLeft(key: string): Promise<number | undefined> {
    return this.backend.secondsLeft(this.keyOf(key));
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
