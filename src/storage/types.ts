import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

/** Builds one oidc-provider adapter per model name (`Session`, `AccessToken`, `Grant`, ...). */
export type AdapterFactory = (model: string) => Adapter;

export type { Adapter, AdapterPayload };

/**
 * The bridge's own short-lived state (directory transactions, logins in progress, account snapshots).
 * Values are JSON-serialisable. Every operation touches exactly one key, so the layout is Redis Cluster safe.
 */
export interface StateStore {
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  /** Atomically reads and deletes: of two concurrent callers, exactly one receives the value. */
  take<T>(key: string): Promise<T | undefined>;
  /**
   * Stores the value only if the key holds none: of concurrent callers exactly one gets true, and
   * every later one false while the value lives (one-time values such as JWT ids, assertion ids).
   */
  add(key: string, value: unknown, ttlSeconds: number): Promise<boolean>;
  /**
   * Stores the value to live the longer of `ttlSeconds` and the time the key had left, in one step:
   * a later write never shortens what an earlier one promised (an account snapshot a grant needs).
   */
  setKeepingLonger(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** Makes the value live at least `ttlSeconds` from now; never shortens it, and does nothing when it is gone. */
  extend(key: string, ttlSeconds: number): Promise<void>;
  /** Whole seconds the value has left (rounded up); undefined when it is gone. */
  secondsLeft(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
}

/**
 * Long-lived records of the bridge (registered services' lifecycle, the audit log). Values are JSON;
 * nothing expires unless a TTL is given. Every operation touches exactly one key (Redis Cluster safe).
 */
export interface DurableStore {
  put(key: string, value: unknown, ttlSeconds?: number): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  /** Atomically reads and deletes: of two concurrent callers, exactly one receives the value. */
  take<T>(key: string): Promise<T | undefined>;
  delete(key: string): Promise<void>;
  /** Adds to a set (an index, e.g. of all client ids). */
  addMember(key: string, member: string): Promise<void>;
  members(key: string): Promise<string[]>;
  /** Appends to a list that only grows (RPUSH). */
  append(key: string, value: unknown): Promise<void>;
  /** Elements `start`..`stop` of a list, inclusive, negative from the end (LRANGE). */
  range<T>(key: string, start: number, stop: number): Promise<T[]>;
  /**
   * Appends the element `build` makes from the list's current last one, atomically with respect to
   * other appenders (a hash chain stays a chain across instances).
   */
  appendLinked<T>(key: string, build: (last: T | undefined) => T): Promise<T>;
  /** The number of elements of a list. */
  length(key: string): Promise<number>;
}

/** A counter of events per key over a fixed window (e.g. failed sign-ins per address). */
export interface CounterOptions {
  /** Names the counter in the store (`<keyPrefix>limit:<name>:<key>`). */
  name: string;
  /** Events a key may have in one window. */
  points: number;
  durationSeconds: number;
}

export interface StoreDurability {
  appendOnly: boolean | undefined;
  /** The maxmemory-policy; anything but `noeviction` may drop the federation's records. */
  evictionPolicy: string | undefined;
}

/** Everything that lives in one backing store (Redis or process memory). */
export interface Storage {
  readonly kind: 'redis' | 'memory';
  /** Adapter factory for oidc-provider models, under a namespace (one issuer or the test directory). */
  adapterFactory(namespace: string): AdapterFactory;
  state(namespace: string): StateStore;
  /** Long-lived records under a namespace (`<prefix><namespace>:durable:<key>`). */
  durable(namespace: string): DurableStore;
  /**
   * A rate-limiter-flexible counter kept in this store: on Redis every instance of the deployment
   * counts together; in memory only this process does. Rejects with an Error (not a RateLimiterRes)
   * when the store cannot be reached.
   */
  rateLimiter(options: CounterOptions): RateLimiterAbstract;
  /** True when the store can serve requests right now (Redis connected). */
  isAvailable(): boolean;
  /** Round-trip check for readiness probes; rejects when the store is unreachable. */
  ping(): Promise<void>;
  /**
   * How the store keeps what it holds across a restart of its own, as far as it can tell: AOF on, and
   * no eviction of keys under memory pressure (undefined: not allowed to ask, e.g. CONFIG disabled).
   */
  durability(): Promise<StoreDurability>;
  close(): Promise<void>;
}

/** Thrown by stores when the backing service cannot be reached; surfaced to users as 503. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message = 'the session store is unavailable', options?: { cause?: unknown }) {
    super(message, options);
  }
}
