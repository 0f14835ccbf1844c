import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepLinkLogin, startFederation, type Federation } from '../support/federation.js';
import { onFreePort } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { UserAgent } from '../support/user-agent.js';

/** A sentinel watching one private master. */
async function startSentinel(masterPort: number): Promise<{ port: number; stop(): Promise<void> }> {
  // A sentinel reads its port from its configuration file: picked first, another one if taken meanwhile.
  return onFreePort((port) => startSentinelOn(port, masterPort));
}

async function startSentinelOn(port: number, masterPort: number): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mpassid-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor bridge 127.0.0.1 ${masterPort} 1\n`);
  const child: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`sentinel did not start: ${output.slice(-300)}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('+monitor master bridge')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sentinel exited with ${code}: ${output.slice(-300)}`));
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe('the bridge behind Redis Sentinel', () => {
  let master: RedisServerHandle;
  let sentinel: Awaited<ReturnType<typeof startSentinel>>;
  let fed: Federation;
  beforeAll(async () => {
    master = await startRedisServer();
    sentinel = await startSentinel(master.port);
    fed = await startFederation({
      config: { redis: { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: sentinel.port }], sentinelName: 'bridge', commandTimeoutMs: 1000 } },
    });
  });
  afterAll(async () => {
    await fed?.stop();
    await sentinel?.stop();
    await master?.stop();
  });

  it('finds the master through the sentinel and serves logins', async () => {
    expect(fed.bridge.storage.kind).toBe('redis');
    const { request, callback } = await deepLinkLogin(fed, new UserAgent(), 'pupil-complete');
    expect((await fed.rp.redeem(callback, request)).claims()!.given_name).toBe('Aino');
  });
});
