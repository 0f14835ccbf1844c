import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { hashPassword } from '../../src/admin/passwords.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { runAdminCli } from '../support/admin-cli.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { OPERATOR, OPERATOR_AUTH } from '../support/environments.js';
import { SERVICE_REDIRECT } from '../support/federation.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';
import { testSecrets } from '../support/keys.js';

/**
 * Registered services, directories, operator settings and the audit log are the federation's
 * records: they live in Redis with AOF, survive a crash of it, and the audit log shows tampering.
 */
describe("the federation's records", () => {
  let redis: RedisServerHandle;
  let secrets: BridgeSecrets;
  let bridge: BridgeHandle;
  /** The bridge's port once it has one: a restart binds it again (the issuer names it). */
  let port: number | undefined;

  const start = async () =>
    startBridge({
      ...(port !== undefined ? { port } : {}),
      secrets,
      config: {
        redis: { url: redis.url, commandTimeoutMs: 1000 },
        admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
      },
    });

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    secrets = testSecrets();
    bridge = await start();
    port = bridge.port;
  });

  afterAll(async () => {
    await bridge?.stop();
    await redis?.stop();
  });

  async function admin(method: string, path: string, body?: unknown) {
    const response = await fetch(`${bridge.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: OPERATOR_AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  async function registerService(name: string): Promise<string> {
    const token = (await admin('POST', '/initial-access-tokens', {})).body.initialAccessToken as string;
    const response = await fetch(`${bridge.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ client_name: name, redirect_uris: [SERVICE_REDIRECT] }),
    });
    return ((await response.json()) as { client_id: string }).client_id;
  }

  it('survive Redis being killed and started again (AOF, fsync every second)', async () => {
    const clientId = await registerService('Kept');
    expect((await admin('POST', `/clients/${clientId}/approve`, { reason: 'reviewed' })).status).toBe(200);
    const directory = await admin('POST', '/directories', {
      id: 'kept-city',
      displayName: { fi: 'Säilyvä kaupunki' },
      issuer: 'https://idp.kept-city.example',
      clientId: 'bridge',
      clientSecret: 'kept-city-secret-0123456789',
    });
    expect(directory.status).toBe(201);
    const before = await admin('GET', '/audit');
    // A crash of the Redis process (not of the machine): what Redis has written to its append-only
    // file survives it; fsync every second guards against power loss, which a test cannot stage.
    // With appendfsync everysec Redis may answer before writing while a background fsync lags, so
    // wait until every acknowledged record is in the file: each audit entry (by its hash, once in
    // the log and once per subject list it is on), the service and the directory.
    const timesWritten = (entry: Record<string, unknown>) => 1 + (entry.clientId ? 1 : 0) + (entry.directoryId ? 1 : 0);
    await eventually(
      () => {
        const file = redis.appendOnlyFile();
        return (
          file.includes(clientId) &&
          file.includes('kept-city') &&
          (before.body.entries as Array<Record<string, unknown>>).every((entry) => file.split(String(entry.hash)).length - 1 >= timesWritten(entry))
        );
      },
      { what: 'the acknowledged records reaching the append-only file' },
    );
    await bridge.stop();
    await redis.kill();
    await redis.restart();
    bridge = await start();

    expect((await admin('GET', `/clients/${clientId}`)).body).toMatchObject({ state: 'approved', metadata: { client_name: 'Kept' } });
    expect((await admin('GET', '/directories/kept-city')).body).toMatchObject({ status: 'draft', displayName: { fi: 'Säilyvä kaupunki' } });
    const after = await admin('GET', '/audit');
    expect(after.body.entries).toEqual(before.body.entries);
    expect((await admin('GET', '/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('pages the audit log from the newest entry back, for a subject too', async () => {
    const clientId = await registerService('Paged');
    await admin('POST', `/clients/${clientId}/approve`, {});
    await admin('POST', `/clients/${clientId}/suspend`, {});
    await admin('POST', `/clients/${clientId}/reinstate`, {});
    const newest = await admin('GET', `/audit?clientId=${clientId}&limit=2`);
    expect(newest.body.total).toBe(4);
    expect(newest.body.entries.map((e: { action: string }) => e.action)).toEqual(['suspend', 'reinstate']);
    const older = await admin('GET', `/audit?clientId=${clientId}&limit=2&offset=2`);
    expect(older.body.entries.map((e: { action: string }) => e.action)).toEqual(['register', 'approve']);
    expect((await admin('GET', `/audit?clientId=${clientId}&offset=9`)).body.entries).toEqual([]);
  });

  it('detects an edited audit entry (CLI audit verify)', async () => {
    const cli = (args: string[]) => runAdminCli({ url: bridge.issuer, user: OPERATOR.username, password: OPERATOR.password }, args);
    const intact = await cli(['audit', 'verify']);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain('audit log intact');
    // Someone with access to Redis rewrites who approved a service.
    const raw = new Redis(redis.url);
    const key = (await raw.keys('*registry:durable:audit')).find((k) => k.endsWith(':audit'))!;
    const entries = await raw.lrange(key, 0, -1);
    const index = entries.findIndex((e) => (JSON.parse(e) as { action: string }).action === 'approve');
    const edited = { ...(JSON.parse(entries[index]!) as Record<string, unknown>), operator: 'somebody-else' };
    await raw.lset(key, index, JSON.stringify(edited));
    await raw.quit();
    const broken = await cli(['audit', 'verify']);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain(`audit log broken at entry ${index}: the entry was changed after it was written`);
  });
});

describe('records on the in-memory store', () => {
  it('refuse the admin API unless a developer allows it', () => {
    const operators = [{ username: 'op', passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA' }];
    expect(() => parseConfig({ env: 'development', admin: { operators } })).toThrow(ConfigError);
    expect(() => parseConfig({ env: 'development', admin: { operators } })).toThrow(/in-memory store loses at every restart/);
    expect(parseConfig({ env: 'development', admin: { operators, allowInMemoryRecords: true } }).admin.allowInMemoryRecords).toBe(true);
    expect(() => parseConfig({ env: 'development', admin: { operators }, redis: { url: 'redis://127.0.0.1:6390' } })).not.toThrow();
  });
});
