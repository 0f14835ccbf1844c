import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RP_CLIENT, RP_REDIRECT, signInAtDirectory } from '../support/federation.js';
import { listenOnLoopback, onFreePort, rebind } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RelyingParty } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';
import { eventually, GiveUp } from '../support/eventually.js';
import { testSecrets } from '../support/keys.js';

/** A bridge process as an operator runs one (its own process, the same configuration and secrets as its peer). */
class Instance {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts the process on its port; rejects with its output when it exits first (EADDRINUSE among the reasons). */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    const collect = (c: Buffer) => {
      output += c.toString();
      this.output += c.toString();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    // 'close': exited, and everything it wrote has been read (its reason included).
    let ended = false;
    child.once('close', () => (ended = true));
    await eventually(
      async () => {
        if (ended) throw new GiveUp(`instance exited: ${output}`);
        return fetch(`http://127.0.0.1:${this.port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 10_000, what: 'the instance being ready' },
    ).catch((err: Error) => {
      throw err instanceof GiveUp ? err : new Error(`${err.message}: ${this.output}`);
    });
  }

  /** SIGTERM: stop accepting, finish what is in flight, exit. Resolves with the exit code. */
  async terminate(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.kill('SIGTERM');
    return exited;
  }
}

/**
 * The address the services know: a round-robin proxy over the instances that checks their readiness
 * (every 50 ms, as a load balancer's health check does) and sends requests only to ready ones, trying
 * another when an instance refuses the connection, or resets it before answering a GET (as nginx's
 * proxy_next_upstream does). A new connection per request, so no keep-alive socket races a shutdown.
 */
async function startBalancer(backends: number[]): Promise<{ server: Server; port: number }> {
  let next = 0;
  const ready = new Set<number>();
  const probe = setInterval(() => {
    for (const port of backends) {
      fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(500) }).then(
        (r) => (r.ok ? ready.add(port) : ready.delete(port)),
        () => ready.delete(port),
      );
    }
  }, 50);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        // The ready instances; all of them while none is known to be ready (at start).
        const candidates = backends.filter((port) => ready.has(port));
        const pool = candidates.length ? candidates : backends;
        const target = pool[next++ % pool.length]!;
        const forwarded = httpRequest({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forwarded.on('error', (err: NodeJS.ErrnoException) => {
          // Like a production load balancer: another instance for a refused connection, and for a
          // GET whose connection an instance closed while shutting down before answering.
          const retriable = err.code === 'ECONNREFUSED' || (err.code === 'ECONNRESET' && req.method === 'GET');
          if (retriable && !res.headersSent && tries > 1) attempt(tries - 1);
          else if (!res.headersSent) res.writeHead(502).end();
        });
        forwarded.end(body);
      };
      attempt(backends.length * 4);
    });
  });
  server.on('close', () => clearInterval(probe));
  return { server, port: await listenOnLoopback(server) };
}

describe('a rolling restart of two instances behind one address', () => {
  let redis: RedisServerHandle;
  let balancer: Server;
  let instances: Instance[];
  let issuer: string;

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    const work = mkdtempSync(join(tmpdir(), 'mpassid-rolling-'));
    const secretsFile = join(work, 'secrets.json');
    // Both instances read the same secrets, as a deployment's instances do.
    writeFileSync(secretsFile, JSON.stringify(testSecrets()), { mode: 0o600 });
    const configFile = join(work, 'bridge.json');
    writeFileSync(configFile, JSON.stringify({ secrets: { file: secretsFile }, clients: [RP_CLIENT], directories: { healthCheckIntervalSeconds: 0 } }));
    // The balancer listens first (the issuer names its port); the instances' ports join its list as they start.
    const backends: number[] = [];
    const started = await startBalancer(backends);
    balancer = started.server;
    issuer = `http://127.0.0.1:${started.port}`;
    const env = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      CONFIG_FILE: configFile,
      ISSUER: issuer,
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    };
    // An instance is told its port (PORT) and does not report what it bound: picked first, another if taken meanwhile.
    const startInstance = () =>
      onFreePort(async (port) => {
        const instance = new Instance(port, env);
        await instance.start();
        return instance;
      });
    instances = [await startInstance(), await startInstance()];
    backends.push(...instances.map((i) => i.port));
  });

  afterAll(async () => {
    for (const instance of instances ?? []) await instance.terminate();
    await new Promise<void>((done) => (balancer ? balancer.close(() => done()) : done()));
    await redis?.stop();
  });

  it('completes every login while each instance in turn is stopped with SIGTERM and started again', async () => {
    const rp = await RelyingParty.discover({ issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
    let running = true;
    const outcomes: Array<'ok' | string> = [];
    const loginLoop = async () => {
      for (let n = 0; running && n < 200; n += 1) {
        try {
          const request = await rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:test-school' });
          const agent = new UserAgent('en');
          const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
          const done = await signInAtDirectory(agent, page, 'pupil-complete');
          const tokens = await rp.redeem(done.url, request);
          outcomes.push(tokens.claims()?.given_name === 'Aino' ? 'ok' : 'wrong claims');
        } catch (err) {
          outcomes.push(`failed: ${(err as Error).message}`);
        }
      }
    };
    const loops = Array.from({ length: 4 }, () => loginLoop());
    // Let logins run, then restart each instance in turn while they go on.
    const logins = () => outcomes.length;
    const waitFor = (count: number) => eventually(() => logins() >= count, { timeoutMs: 30_000, what: `${count} logins` });
    await waitFor(4);
    for (const instance of instances) {
      const exited = instance.terminate();
      // Stopping, it first tells the balancer (readiness) while it still answers, then exits cleanly.
      await eventually(async () => (await fetch(`http://127.0.0.1:${instance.port}/readyz`)).status === 503, { what: 'readiness to say stopping' });
      expect((await fetch(`http://127.0.0.1:${instance.port}/healthz`)).status).toBe(200);
      expect(await exited).toBe(0);
      const before = logins();
      await waitFor(before + 4);
      // Back on its port, the one the balancer knows, should another process have taken it meanwhile.
      await rebind(() => instance.start(), 15_000);
      await waitFor(logins() + 4);
    }
    running = false;
    await Promise.all(loops);
    expect(outcomes.length).toBeGreaterThanOrEqual(16);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
  });
});
