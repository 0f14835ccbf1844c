import { adapterFactoryOver, durableStoreOver, stateStoreOver } from './adapter.js';
import type { Backend } from './backend.js';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Storage } from './types.js';

interface Entry {
  value: string | Set<string> | string[] | { payload: string; consumed?: number };
  expiresAt: number; // ms epoch; Infinity = no expiry
}

const SWEEP_INTERVAL_MS = 30_000;

/**
 * Process memory with the same semantics as Redis (expiry, single-key atomic operations: JavaScript
 * runs each synchronously). For the embedded default: state is lost when the process stops.
 */
class MemoryBackend implements Backend {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private static expiry(ttlSeconds?: number): number {
    return ttlSeconds === undefined ? Infinity : Date.now() + ttlSeconds * 1000;
  }

  async putRecord(key: string, payload: string, ttlSeconds?: number, consumed?: number): Promise<void> {
    const value = consumed === undefined ? { payload } : { payload, consumed };
    this.entries.set(key, { value, expiresAt: MemoryBackend.expiry(ttlSeconds) });
  }

  async getRecord(key: string): Promise<{ payload: string; consumed?: number } | undefined> {
    const value = this.live(key)?.value;
    return value && typeof value === 'object' && !(value instanceof Set) && !Array.isArray(value) ? { ...value } : undefined;
  }

  async consumeRecord(key: string, at: number): Promise<'ok' | 'already' | 'missing'> {
    const value = this.live(key)?.value;
    if (!value || typeof value !== 'object' || value instanceof Set || Array.isArray(value)) return 'missing';
    if (value.consumed !== undefined) return 'already';
    value.consumed = at;
    return 'ok';
  }

  async setValue(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: MemoryBackend.expiry(ttlSeconds) });
  }

  async getValue(key: string): Promise<string | undefined> {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : undefined;
  }

  async takeValue(key: string): Promise<string | undefined> {
    const value = this.live(key)?.value;
    if (typeof value !== 'string') return undefined;
    this.entries.delete(key);
    return value;
  }

  async addValue(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.entries.set(key, { value, expiresAt: MemoryBackend.expiry(ttlSeconds) });
    return true;
  }

  async setValueKeepingLonger(key: string, value: string, ttlSeconds: number): Promise<void> {
    const left = this.live(key)?.expiresAt ?? 0;
    this.entries.set(key, { value, expiresAt: Math.max(left, MemoryBackend.expiry(ttlSeconds)) });
  }

  async secondsLeft(key: string): Promise<number | undefined> {
    const expiresAt = this.live(key)?.expiresAt;
    return expiresAt === undefined || expiresAt === Infinity ? undefined : Math.ceil((expiresAt - Date.now()) / 1000);
  }

  async extendValue(key: string, ttlSeconds: number): Promise<void> {
    const entry = this.live(key);
    if (entry) entry.expiresAt = Math.max(entry.expiresAt, MemoryBackend.expiry(ttlSeconds));
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async addMember(key: string, member: string, ttlSeconds?: number): Promise<void> {
    const entry = this.live(key);
    const expiresAt = MemoryBackend.expiry(ttlSeconds);
    if (entry && entry.value instanceof Set) {
      entry.value.add(member);
      entry.expiresAt = Math.max(entry.expiresAt, expiresAt);
    } else {
      this.entries.set(key, { value: new Set([member]), expiresAt });
    }
  }

  async members(key: string): Promise<string[]> {
    const value = this.live(key)?.value;
    return value instanceof Set ? [...value] : [];
  }

  async append(key: string, value: string): Promise<void> {
    const entry = this.live(key);
    if (entry && Array.isArray(entry.value)) entry.value.push(value);
    else this.entries.set(key, { value: [value], expiresAt: Infinity });
  }

  async appendAfter(key: string, expectedLast: string | undefined, value: string): Promise<boolean> {
    const list = this.live(key)?.value;
    const last = Array.isArray(list) ? list.at(-1) : undefined;
    if (last !== expectedLast) return false;
    await this.append(key, value);
    return true;
  }

  async length(key: string): Promise<number> {
    const list = this.live(key)?.value;
    return Array.isArray(list) ? list.length : 0;
  }

  async range(key: string, start: number, stop: number): Promise<string[]> {
    const value = this.live(key)?.value;
    if (!Array.isArray(value)) return [];
    // LRANGE semantics: negative indexes count from the end, `stop` is inclusive, out of range is clamped.
    const from = Math.max(start < 0 ? value.length + start : start, 0);
    const to = Math.min(stop < 0 ? value.length + stop : stop, value.length - 1);
    return from > to ? [] : value.slice(from, to + 1);
  }

  isAvailable(): boolean {
    return true;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }
}

export function createMemoryStorage(keyPrefix = 'mpassid:'): Storage {
  const backend = new MemoryBackend();
  return {
    kind: 'memory',
    adapterFactory: (namespace) => adapterFactoryOver(backend, `${keyPrefix}${namespace}:`),
    state: (namespace) => stateStoreOver(backend, `${keyPrefix}${namespace}:`),
    durable: (namespace) => durableStoreOver(backend, `${keyPrefix}${namespace}:`),
    rateLimiter: (options) =>
      new RateLimiterMemory({ keyPrefix: `${keyPrefix}limit:${options.name}`, points: options.points, duration: options.durationSeconds }),
    isAvailable: () => backend.isAvailable(),
    ping: () => backend.ping(),
    // Process memory: nothing survives the process.
    durability: async () => ({ appendOnly: false, evictionPolicy: 'noeviction' }),
    close: () => backend.close(),
  };
}
