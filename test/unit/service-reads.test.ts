import { describe, expect, it } from '@jest/globals';
import { ServiceRegistry, withServiceReads } from '../../src/services/registry.js';
import { createMemoryStorage } from '../../src/storage/memory.js';
import type { DurableStore } from '../../src/storage/types.js';

/** The memory store, counting the reads of one key that reach it. */
function countingStore(): { store: DurableStore; readsOf: (key: string) => number } {
  const store = createMemoryStorage().durable('registry');
  const reads = new Map<string, number>();
  const counting = Object.assign(Object.create(store) as DurableStore, {
    get: <T>(key: string) => {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return store.get<T>(key);
    },
  });
  return { store: counting, readsOf: (key) => reads.get(key) ?? 0 };
}

async function registered() {
  const { store, readsOf } = countingStore();
  const clients = createMemoryStorage().adapterFactory('op')('Client');
  const registry = new ServiceRegistry(store, [], clients);
  // A registration, as oidc-provider stores it through the registry's tracking adapter.
  await registry.tracking(clients, 'test').upsert('svc', { client_id: 'svc', redirect_uris: ['https://svc.example/cb'] }, 0);
  return { registry, readsOf: () => readsOf('client:svc') };
}

describe("a request reads its service's record once", () => {
  it('serves every read of one request from the first, and asks the store again in the next request', async () => {
    const { registry, readsOf } = await registered();
    const before = readsOf();
    await withServiceReads(async () => {
      expect(await registry.isAllowed('svc', 'test')).toBe(true);
      expect((await registry.live('svc'))?.status).toBe('pending');
      expect(await registry.tokenRevoked('svc', 1)).toBe(false);
    });
    expect(readsOf() - before).toBe(1);
    await withServiceReads(() => registry.isAllowed('svc', 'test'));
    expect(readsOf() - before).toBe(2);
  });

  it('reads anew after a write in the same request: a suspension takes effect at once', async () => {
    const { registry } = await registered();
    await withServiceReads(async () => {
      expect(await registry.isAllowed('svc', 'test')).toBe(true);
      await registry.act('svc', 'suspend', 'operator', 'abuse report');
      expect(await registry.isAllowed('svc', 'test')).toBe(false);
      expect(await registry.tokenRevoked('svc', 1)).toBe(true);
    });
  });

  it('reads from the store every time outside a request', async () => {
    const { registry, readsOf } = await registered();
    const before = readsOf();
    await registry.isAllowed('svc', 'test');
    await registry.isAllowed('svc', 'test');
    expect(readsOf() - before).toBe(2);
  });
});
