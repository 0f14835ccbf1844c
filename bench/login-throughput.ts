/**
 * What a login through the bridge costs, measured from the outside, next to a bare oidc-provider login
 * measured in the same run:
 *
 *   bridge: service → bridge /auth with acr_values=urn:mpass.id:authnsource:bench-school → directory
 *           /authorize (answers at once) → bridge callback (code redeemed at the directory, ID token
 *           verified, claims step, account saved) → /interaction/<uid>/complete → code → token
 *   bare:   service → /auth → interaction that finishes login and consent in one step → code → token
 *
 * Every part is a process of its own: the bridge (`node dist/main.js` after `npm run build`, configured
 * through CONFIG_FILE as a deployment is, request log on at info level), the baseline
 * (bench/bare-provider.ts: same Node, same store kind, same adapter), the school directory
 * (bench/mock-directory.ts: auto-approving, cheap) and, with Redis, one redis-server per side, so
 * INFO counts each side's commands alone. This process is only the driver (lean browsers and the
 * service: bench/lean-agent.ts). The server under test is pinned to CPU 0 and everything else to the
 * other CPUs when taskset exists, so its CPU per login is its own work.
 *
 * Measured per side, concurrency and round (sides alternate, and which goes first alternates too):
 *   CPU ms/login   the server process's user + system time (/proc/<pid>/stat) ÷ logins
 *   logins/s, latency percentiles of one whole login (every redirect and the token call)
 *   Redis          commands per login (INFO commandstats of its own server, and the store command
 *                  count of the process's own metrics), round trips per login (read events of the
 *                  Redis server, INFO total_reads_processed, at concurrency 1 where they do not merge)
 *   memory         resident memory of the server, Redis used_memory per login kept (sessions, grants)
 *
 *   npm run bench [-- --store redis|memory] [--seconds 4] [--rounds 3] [--concurrency 1,32]
 *                 [--warmup 300] [--processes 1] [--only bridge|bare] [--bridge-keys default|rs256]
 *                 [--bare-alg RS256|ES256] [--directory-alg RS256|ES256] [--log-level info]
 *                 [--runner dist|tsx] [--skip-build] [--service registered|static]
 *
 * `--seconds` is the measured time of one side at one concurrency in one round. `--processes N` runs
 * N bridge processes on one Redis serving one issuer; the driver sends each request of a login to the
 * next process in turn (so every login moves between processes), nobody is pinned, and the bare side
 * is left out unless asked for with --only bare (then 1 process). `--bridge-keys rs256` gives the bridge
 * an RS256-only JWKS file, as a deployment whose keys predate ES256 has. The bridge's service registers
 * itself (RFC 7591, with an operator's initial access token), so every login reads its record from the
 * store as a registered service's does; `--service static` uses a configured one.
 * Everything listens on 127.0.0.1 only; every loop is bounded by time and count; children end with
 * the driver (their stdin closes).
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpus as osCpus } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { hashPassword } from '../src/admin/passwords.js';
import { generateSigningKeys } from '../src/config/secrets.js';
import { freePort } from '../test/support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../test/support/redis-server.js';
import { authorizationRequest, CookieJar, follow, redeem, send, type Client, type Route } from './lean-agent.js';
import { canReadProc, cpuMillis, HAS_TASKSET, pin, rssMiB, startChild, type Child } from './processes.js';

const RP_REDIRECT = 'http://127.0.0.1:9/callback';
const RP = { client_id: 'bench-service', client_secret: 'bench-service-secret-0123456789', redirect_uris: [RP_REDIRECT] };
const DIRECTORY_ID = 'bench-school';
const DIRECTORY_CLIENT = { id: 'bench-bridge', secret: 'bench-bridge-secret-0123456789abcdef' };
const METRICS_TOKEN = randomBytes(24).toString('base64url');
const OPERATOR = { username: 'bench-operator', password: randomBytes(24).toString('base64url') };
/** Hard bound on the logins of one phase, whatever its time bound. */
const MAX_LOGINS_PER_PHASE = 200_000;

const { values: opts } = parseArgs({
  options: {
    store: { type: 'string', default: 'redis' },
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,32' },
    warmup: { type: 'string', default: '300' },
    processes: { type: 'string', default: '1' },
    only: { type: 'string' },
    'bridge-keys': { type: 'string', default: 'default' },
    'bare-alg': { type: 'string', default: 'RS256' },
    'directory-alg': { type: 'string', default: 'RS256' },
    'log-level': { type: 'string', default: 'info' },
    runner: { type: 'string', default: 'dist' },
    'skip-build': { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'bridge-entry': { type: 'string' },
    service: { type: 'string', default: 'registered' },
  },
});
const positive = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const seconds = positive('seconds', opts.seconds);
const rounds = Math.floor(positive('rounds', opts.rounds));
const warmup = Math.floor(positive('warmup', opts.warmup));
const processes = Math.floor(positive('processes', opts.processes));
const concurrencies = opts.concurrency.split(',').map((c) => Math.floor(positive('concurrency', c)));
if (opts.store !== 'redis' && opts.store !== 'memory') throw new Error('--store must be redis or memory');
if (opts.store === 'memory' && processes > 1) throw new Error('several processes share state only through Redis');
if (opts.only !== undefined && opts.only !== 'bridge' && opts.only !== 'bare') throw new Error('--only must be bridge or bare');
if (opts.runner !== 'dist' && opts.runner !== 'tsx') throw new Error('--runner must be dist or tsx');
const sides: Side[] = opts.only ? [opts.only as Side] : processes > 1 ? ['bridge'] : ['bridge', 'bare'];
if (!canReadProc) throw new Error('the benchmark reads process CPU from /proc (Linux)');

type Side = 'bridge' | 'bare';
const NODE = process.execPath;
/** The directory process(es): their output is shown when logins fail. */
const helpers: Child[] = [];
const cpuCount = osCpus().length;
// One core for the process under test, the rest for the driver, the directory and Redis.
const pinned = HAS_TASKSET && cpuCount >= 2 && processes === 1;
const SERVER_CPUS = pinned ? '0' : '';
const OTHER_CPUS = pinned ? `1-${cpuCount - 1}` : '';

interface Server {
  side: Side;
  children: Child[];
  redis?: { server: RedisServerHandle; client: Redis };
  client: Client;
  authorizationEndpoint: string;
  route: Route;
  metrics: (port: number) => Promise<string>;
  ports: number[];
}

interface Snapshot {
  at: number;
  cpuMs: number;
  redisCommands: number;
  redisReads: number;
  storeCalls: number;
}

interface Phase {
  side: Side;
  concurrency: number;
  round: number;
  logins: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  cpuMs: number;
  redisCommands: number;
  redisReads: number;
  storeCalls: number;
  latencies: number[];
  algs: Set<string>;
}

async function redisCounters(client: Redis | undefined): Promise<{ commands: number; reads: number }> {
  if (!client) return { commands: 0, reads: 0 };
  const [commandstats, stats] = await Promise.all([client.info('commandstats'), client.info('stats')]);
  let commands = 0;
  for (const match of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    // The driver's own INFO calls are not the server's work.
    if (match[1] !== 'info') commands += Number(match[2]);
  }
  const reads = Number(/^total_reads_processed:(\d+)/m.exec(stats)?.[1] ?? NaN);
  return { commands, reads };
}

/** The store's command count from the process's own metrics (every store call, whatever the backend). */
async function storeCalls(server: Server): Promise<number> {
  let total = 0;
  for (const port of server.ports) {
    const text = await server.metrics(port);
    total += Number(/^mpassid_store_command_duration_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
  }
  return total;
}

async function snapshot(server: Server): Promise<Snapshot> {
  const [redis, calls] = await Promise.all([redisCounters(server.redis?.client), storeCalls(server)]);
  return {
    at: performance.now(),
    cpuMs: server.children.reduce((sum, c) => sum + cpuMillis(c.pid), 0),
    redisCommands: redis.commands,
    redisReads: redis.reads,
    storeCalls: calls,
  };
}

async function login(server: Server): Promise<string> {
  const pending = authorizationRequest(
    server.client,
    server.authorizationEndpoint,
    server.side === 'bridge' ? { acr_values: `urn:mpass.id:authnsource:${DIRECTORY_ID}` } : {},
  );
  const callback = await follow(pending.url, new CookieJar(), server.route, RP_REDIRECT);
  return redeem(server.client, callback, pending, server.route);
}

async function drive(server: Server, concurrency: number, bound: { count?: number; ms: number }, phase: Phase): Promise<void> {
  const deadline = performance.now() + bound.ms;
  const count = Math.min(bound.count ?? MAX_LOGINS_PER_PHASE, MAX_LOGINS_PER_PHASE);
  let issued = 0;
  const loop = async (): Promise<void> => {
    while (issued < count && performance.now() < deadline) {
      issued += 1;
      const t0 = performance.now();
      try {
        phase.algs.add(await login(server));
        phase.latencies.push(performance.now() - t0);
        phase.logins += 1;
      } catch (err) {
        phase.errors += 1;
        phase.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

const newPhase = (side: Side, concurrency: number, round: number): Phase => ({
  side,
  concurrency,
  round,
  logins: 0,
  errors: 0,
  elapsedMs: 0,
  cpuMs: 0,
  redisCommands: 0,
  redisReads: 0,
  storeCalls: 0,
  latencies: [],
  algs: new Set(),
});

async function measure(server: Server, concurrency: number, round: number): Promise<Phase> {
  const phase = newPhase(server.side, concurrency, round);
  const before = await snapshot(server);
  await drive(server, concurrency, { ms: seconds * 1000 }, phase);
  const after = await snapshot(server);
  phase.elapsedMs = after.at - before.at;
  phase.cpuMs = after.cpuMs - before.cpuMs;
  phase.redisCommands = after.redisCommands - before.redisCommands;
  // Two INFO calls per snapshot are read events of the driver's own connection.
  phase.redisReads = after.redisReads - before.redisReads - 2;
  phase.storeCalls = after.storeCalls - before.storeCalls;
  return phase;
}

async function waitForDiscovery(issuer: string, route: Route, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await send(new URL(`${issuer}/.well-known/openid-configuration`), route);
      if (res.status === 200) return JSON.parse(res.body) as Record<string, unknown>;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${issuer} did not answer discovery`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function startRedis(): Promise<{ server: RedisServerHandle; client: Redis }> {
  const server = await startRedisServer();
  const client = new Redis(server.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  pin(Number(/^process_id:(\d+)/m.exec(await client.info('server'))?.[1]), OTHER_CPUS);
  return { server, client };
}

function serverOf(
  side: Side,
  issuer: string,
  discovery: Record<string, unknown>,
  ports: number[],
  children: Child[],
  redis: Server['redis'],
  metricsAuth?: string,
  service: { clientId: string; clientSecret: string } = { clientId: RP.client_id, clientSecret: RP.client_secret },
): Server {
  const issuerPort = new URL(issuer).port;
  let turn = 0;
  const route: Route = (url) => (url.port === issuerPort ? ports[turn++ % ports.length]! : Number(url.port));
  return {
    side,
    children,
    ...(redis ? { redis } : {}),
    client: { issuer, ...service, redirectUri: RP_REDIRECT, tokenEndpoint: String(discovery.token_endpoint) },
    authorizationEndpoint: String(discovery.authorization_endpoint),
    route,
    ports,
    metrics: async (port) => (await send(new URL(`${issuer}/metrics`), () => port, metricsAuth ? { headers: { authorization: metricsAuth } } : {})).body,
  };
}

async function startBridgeSide(workdir: string, cleanup: Array<() => Promise<void>>): Promise<Server> {
  const redis = opts.store === 'redis' ? await startRedis() : undefined;
  if (redis)
    cleanup.push(async () => {
      redis.client.disconnect();
      await redis.server.stop();
    });
  const ports = await Promise.all(Array.from({ length: processes }, () => freePort()));
  const issuer = `http://127.0.0.1:${ports[0]}`;
  const directory = await startChild(
    NODE,
    [
      '--import',
      'tsx',
      'bench/mock-directory.ts',
      '--redirect-uri',
      `${issuer}/upstream/${DIRECTORY_ID}/callback`,
      '--client-id',
      DIRECTORY_CLIENT.id,
      '--client-secret',
      DIRECTORY_CLIENT.secret,
      '--alg',
      opts['directory-alg'],
    ],
    { announce: true, label: 'mock directory' },
  );
  cleanup.push(directory.stop);
  helpers.push(directory);
  pin(directory.pid, OTHER_CPUS);

  const config = {
    environment: 'test',
    issuer,
    host: '127.0.0.1',
    logLevel: opts['log-level'],
    secrets: { file: join(workdir, 'dev-secrets.json') },
    ...(redis ? { redis: { url: redis.server.url, keyPrefix: 'bench-bridge:' } } : {}),
    testDirectory: { enabled: false },
    attributeTestService: { enabled: false },
    metrics: { token: METRICS_TOKEN },
    clients: opts.service === 'static' ? [RP] : [],
    admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }], allowInMemoryRecords: true },
    upstreams: [
      {
        id: DIRECTORY_ID,
        displayName: { fi: 'Benchmark-koulu', sv: 'Benchmarkskola', en: 'Benchmark school' },
        issuer: String(directory.announced!.issuer),
        clientId: DIRECTORY_CLIENT.id,
        clientSecret: DIRECTORY_CLIENT.secret,
        accounts: 'test',
      },
    ],
  };
  const configFile = join(workdir, 'bridge.json');
  writeFileSync(configFile, JSON.stringify(config));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', CONFIG_FILE: configFile };
  if (opts['bridge-keys'] === 'rs256') {
    const jwksFile = join(workdir, 'jwks-rs256.json');
    writeFileSync(jwksFile, JSON.stringify(await generateSigningKeys({ algorithms: ['RS256'] })));
    env.JWKS_FILE = jwksFile;
  }
  // --cpu-prof <dir>: the bridge writes a V8 CPU profile there when it stops.
  const profile = opts['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(opts['cpu-prof'])}`] : [];
  // --bridge-entry <main.js>: another build of the bridge (an earlier commit's, for a before/after).
  const main = opts['bridge-entry'] ? [resolve(opts['bridge-entry'])] : opts.runner === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const entry = [...profile, ...main];
  const children: Child[] = [];
  // One after another: the first writes the development secrets file the others then read.
  for (const port of ports) {
    const child = await startChild(NODE, entry, { env: { ...env, PORT: String(port) }, cpus: SERVER_CPUS, label: `bridge on ${port}` });
    cleanup.push(child.stop);
    children.push(child);
    await waitForDiscovery(issuer, () => port);
  }
  const discovery = await waitForDiscovery(issuer, () => ports[0]!);
  const service = opts.service === 'static' ? undefined : await registerService(issuer, () => ports[0]!);
  return serverOf('bridge', issuer, discovery, ports, children, redis, `Bearer ${METRICS_TOKEN}`, service);
}

/** The service registers itself with an operator's initial access token (the test environment admits it while under review). */
async function registerService(issuer: string, route: Route): Promise<{ clientId: string; clientSecret: string }> {
  const operator = {
    authorization: `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`,
    'content-type': 'application/json',
  };
  const issued = await send(new URL(`${issuer}/admin/api/initial-access-tokens`), route, { method: 'POST', headers: operator, body: '{}' });
  const { initialAccessToken } = JSON.parse(issued.body) as { initialAccessToken: string };
  const registered = await send(new URL(`${issuer}/reg`), route, {
    method: 'POST',
    headers: { authorization: `Bearer ${initialAccessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Benchmark service', redirect_uris: [RP_REDIRECT], token_endpoint_auth_method: 'client_secret_basic' }),
  });
  if (registered.status !== 201) throw new Error(`registration failed: ${registered.status} ${registered.body}`);
  const { client_id: clientId, client_secret: clientSecret } = JSON.parse(registered.body) as { client_id: string; client_secret: string };
  return { clientId, clientSecret };
}

async function startBareSide(cleanup: Array<() => Promise<void>>): Promise<Server> {
  const redis = opts.store === 'redis' ? await startRedis() : undefined;
  if (redis)
    cleanup.push(async () => {
      redis.client.disconnect();
      await redis.server.stop();
    });
  // --cpu-prof <dir>: the bare provider writes its profile there too (a file of its own pid).
  const profile = opts['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(opts['cpu-prof'])}`] : [];
  const args = [
    ...profile,
    '--import',
    'tsx',
    'bench/bare-provider.ts',
    '--alg',
    opts['bare-alg'],
    '--client-id',
    RP.client_id,
    '--client-secret',
    RP.client_secret,
    '--redirect-uri',
    RP_REDIRECT,
  ];
  if (redis) args.push('--redis-url', redis.server.url);
  const child = await startChild(NODE, args, { cpus: SERVER_CPUS, announce: true, label: 'bare provider' });
  cleanup.push(child.stop);
  const issuer = String(child.announced!.issuer);
  const port = Number(new URL(issuer).port);
  return serverOf('bare', issuer, await waitForDiscovery(issuer, () => port), [port], [child], redis);
}

/** Prints the Redis commands of one login at concurrency 1 (MONITOR on the side's own server). */
async function traceOneLogin(server: Server): Promise<void> {
  const client = server.redis?.client;
  if (!client) return;
  const monitor = await client.monitor();
  const lines: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    // Values are left out: the command and its key say where the round trips go.
    lines.push(`${source.padEnd(22)} ${args.slice(0, 2).join(' ').slice(0, 110)}`);
  });
  await new Promise((done) => setTimeout(done, 200));
  lines.length = 0;
  await login(server);
  await new Promise((done) => setTimeout(done, 200));
  monitor.disconnect();
  console.log(`\n${server.side}: Redis commands of one login (${lines.length}, scripts' inner commands marked lua):`);
  for (const line of lines) console.log(`  ${line}`);
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Summary {
  logins: number;
  errors: number;
  rate: number;
  cpuPerLogin: number;
  p50: number;
  p90: number;
  p99: number;
  redisCommands: number;
  redisReads: number;
  storeCalls: number;
  perRoundCpu: number[];
  perRoundRate: number[];
  firstError?: string;
  algs: string[];
}

function summarise(phases: Phase[]): Summary {
  const sum = (f: (p: Phase) => number) => phases.reduce((s, p) => s + f(p), 0);
  const logins = sum((p) => p.logins);
  const sorted = phases.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const firstError = phases.find((p) => p.firstError)?.firstError;
  return {
    logins,
    errors: sum((p) => p.errors),
    rate: logins / (sum((p) => p.elapsedMs) / 1000),
    cpuPerLogin: sum((p) => p.cpuMs) / logins,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    redisCommands: sum((p) => p.redisCommands) / logins,
    redisReads: sum((p) => p.redisReads) / logins,
    storeCalls: sum((p) => p.storeCalls) / logins,
    perRoundCpu: phases.map((p) => p.cpuMs / p.logins),
    perRoundRate: phases.map((p) => p.logins / (p.elapsedMs / 1000)),
    ...(firstError ? { firstError } : {}),
    algs: [...new Set(phases.flatMap((p) => [...p.algs]))],
  };
}

const f = (n: number, digits = 1, width = 8): string => (Number.isFinite(n) ? n.toFixed(digits) : '–').padStart(width);
const spread = (values: number[]): string => {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return '';
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  return `±${(((Math.max(...finite) - Math.min(...finite)) / 2 / mean) * 100).toFixed(0)}%`;
};

async function main(): Promise<number> {
  const phasesTotal = rounds * concurrencies.length * sides.length;
  const budgetMs = (phasesTotal * (seconds + 10) + 240) * 1000;
  setTimeout(() => {
    console.error(`bench: gave up after ${Math.round(budgetMs / 1000)} s`);
    process.exit(2);
  }, budgetMs).unref();

  if (sides.includes('bridge') && opts.runner === 'dist' && !opts['skip-build'] && !opts['bridge-entry']) {
    process.stderr.write('bench: npm run build …\n');
    try {
      execFileSync(NODE, [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    } catch {
      throw new Error('the build failed: fix it, or run with --runner tsx');
    }
  }
  pin(process.pid, OTHER_CPUS);
  const workdir = mkdtempSync(join(tmpdir(), 'mpassid-bench-'));
  const cleanup: Array<() => Promise<void>> = [];
  try {
    const servers: Partial<Record<Side, Server>> = {};
    if (sides.includes('bridge')) servers.bridge = await startBridgeSide(workdir, cleanup);
    if (sides.includes('bare')) servers.bare = await startBareSide(cleanup);

    for (const side of sides) {
      const warm = newPhase(side, 8, 0);
      await drive(servers[side]!, 8, { count: warmup, ms: 120_000 }, warm);
      if (warm.errors) {
        for (const child of [...servers[side]!.children, ...helpers]) console.error(child.tail());
        throw new Error(`${side} warm-up failed ${warm.errors}× (first: ${warm.firstError})`);
      }
    }
    if (opts.trace) {
      for (const side of sides) await traceOneLogin(servers[side]!);
    }
    const phases: Phase[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const concurrency of concurrencies) {
        for (const side of order) phases.push(await measure(servers[side]!, concurrency, round));
      }
    }
    const rss = Object.fromEntries(sides.map((side) => [side, servers[side]!.children.reduce((s, c) => s + rssMiB(c.pid), 0)]));
    const redisMemory: Record<string, { used: number; keys: number }> = {};
    for (const side of sides) {
      const client = servers[side]!.redis?.client;
      if (!client) continue;
      redisMemory[side] = {
        used: Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1]),
        keys: await client.dbsize(),
      };
    }

    const s = (side: Side, c: number) => summarise(phases.filter((p) => p.side === side && p.concurrency === c));
    const pinning = pinned
      ? 'server pinned to CPU 0, driver/directory/Redis to the others'
      : HAS_TASKSET
        ? 'no pinning (several processes)'
        : 'no taskset: nothing pinned';
    console.log(
      `\nlogin cost: ${opts.store} store, ${processes} bridge process(es), ${rounds} rounds × ${seconds} s per side and concurrency, warm-up ${warmup}; ${cpuCount} CPUs, ${pinning}; bridge log level ${opts['log-level']}\n`,
    );
    console.log('side    conc   logins  logins/s   p50 ms   p90 ms   p99 ms  CPU ms/login (±round spread)  Redis cmds  in-proc  round trips  errors');
    for (const c of concurrencies) {
      for (const side of sides) {
        const x = s(side, c);
        const trips = c === 1 ? f(x.redisReads, 1, 12) : '           –';
        console.log(
          `${side.padEnd(6)} ${String(c).padStart(5)} ${String(x.logins).padStart(8)} ${f(x.rate, 1, 9)} ${f(x.p50)} ${f(x.p90)} ${f(x.p99)} ${f(x.cpuPerLogin, 2, 13)} ${spread(x.perRoundCpu).padStart(16)} ${f(x.redisCommands, 1, 11)} ${f(x.storeCalls, 1, 8)} ${trips} ${String(x.errors).padStart(7)}`,
        );
        if (x.firstError) console.log(`  first error: ${x.firstError}`);
      }
    }
    console.log('');
    for (const side of sides) {
      const algs = [...new Set(concurrencies.flatMap((c) => s(side, c).algs))].join(', ');
      const mem = redisMemory[side];
      const logins = concurrencies.reduce((n, c) => n + s(side, c).logins, 0) + warmup;
      console.log(
        `${side}: ID tokens ${algs}; RSS ${rss[side]!.toFixed(0)} MiB${mem ? `; Redis ${(mem.used / 2 ** 20).toFixed(1)} MiB, ${mem.keys} keys after ${logins} logins (${(mem.used / logins).toFixed(0)} B/login kept)` : ''}`,
      );
    }
    if (servers.bridge && servers.bare) {
      console.log('\nratios (bridge vs bare, same run):');
      for (const c of concurrencies) {
        const b = s('bridge', c);
        const a = s('bare', c);
        console.log(
          `  concurrency ${String(c).padStart(2)}: CPU/login ${(b.cpuPerLogin / a.cpuPerLogin).toFixed(2)}× (≤ 1.25×; per core ${(a.cpuPerLogin / b.cpuPerLogin).toFixed(2)}×), logins/s ${(b.rate / a.rate).toFixed(2)}×, median +${(b.p50 - a.p50).toFixed(1)} ms, p99 +${(b.p99 - a.p99).toFixed(1)} ms`,
        );
      }
      if (concurrencies.includes(1)) {
        const b = s('bridge', 1);
        const a = s('bare', 1);
        console.log(
          `  concurrency  1 targets: median ≤ bare + 5 ms: ${b.p50 - a.p50 <= 5 ? 'met' : 'NOT met'}; p99 ≤ bare + 15 ms: ${b.p99 - a.p99 <= 15 ? 'met' : 'NOT met'}`,
        );
        if (opts.store === 'redis') {
          console.log(
            `  Redis: ${b.redisCommands.toFixed(1)} vs ${a.redisCommands.toFixed(1)} commands, ${b.redisReads.toFixed(1)} vs ${a.redisReads.toFixed(1)} round trips per login (≤ bare + 6: ${b.redisReads - a.redisReads <= 6 ? 'met' : 'NOT met'})`,
          );
        }
      }
      const cpuAll = (side: Side) => {
        const all = summarise(phases.filter((p) => p.side === side));
        return all.cpuPerLogin;
      };
      const ratio = cpuAll('bridge') / cpuAll('bare');
      console.log(
        `  all phases: CPU/login ${ratio.toFixed(2)}× (${cpuAll('bridge').toFixed(2)} vs ${cpuAll('bare').toFixed(2)} ms), ${ratio <= 1.25 ? 'met' : 'NOT met'} (≤ 1.25×)`,
      );
    }
    return phases.some((p) => p.errors > 0) ? 1 : 0;
  } finally {
    for (const stop of cleanup.reverse()) await stop().catch(() => {});
    rmSync(workdir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
