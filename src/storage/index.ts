import type { RedisConfig } from '../config/schema.js';
import { createMemoryStorage } from './memory.js';
import { createRedisStorage, type RedisStorageOptions } from './redis.js';
import type { Storage } from './types.js';

export type { Storage } from './types.js';
export { retrySafeRequest } from './adapter.js';

/** Redis when the configuration names a server (URL, sentinels or cluster nodes); otherwise memory. */
export function createStorage(config: RedisConfig, options: RedisStorageOptions = {}): Storage {
  const named = (config.mode === 'single' && config.url) || config.mode === 'sentinel' || config.mode === 'cluster';
  return named ? createRedisStorage(config, options) : createMemoryStorage(config.keyPrefix);
}

/** Waits (bounded) for the store to connect, so the first requests after start-up are not refused. */
export async function waitUntilAvailable(storage: Storage, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!storage.isAvailable()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
