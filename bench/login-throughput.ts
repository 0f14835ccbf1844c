/**
 * Login throughput: full federated logins per second through the bridge, next to a bare
 * oidc-provider login measured in the same run (same storage kind, same kind of keys).
 *
 *   bridge: service (openid-client) → bridge /auth with acr_values=urn:mpass.id:authnsource:test-school
 *           → bundled test directory (in-process, over HTTP) → its login form POST → bridge callback
 *           (code redeemed at the directory) → code → token redemption at the bridge (ID token checked)
 *   bare:   service → /auth → automatic login and consent → code → token redemption
 *
 * Every virtual user (default 32) is a loop that starts each login with a fresh UserAgent (no cookies,
 * so every login is a full one, never SSO). Both sides are warmed up, then measured in alternating
 * rounds (bridge, bare, bridge, bare, ...) so machine noise hits both. Latency is the wall time of one
 * whole login including the token call. Everything (services, directory, user agents) shares this one
 * process and 127.0.0.1, so the numbers compare the two sides; they are not a capacity figure.
 *
 *   npm run bench [-- --seconds 10] [--redis] [--concurrency 32] [--rounds 2] [--warmup 50] [--only bridge|bare]
 *
 * `--seconds` is the measured time per side, split over its rounds. `--redis` runs a private
 * redis-server and uses Redis storage on both sides. `ratio` is bridge logins/s ÷ bare logins/s.
 * `CPU ms/login` is this process's CPU time per login (user + system, all threads) while that side ran.
 * CPU profile of one side (NODE_OPTIONS refuses --cpu-prof, so start node directly):
 *   node_modules/.bin/node --cpu-prof --cpu-prof-dir=.local/prof --import tsx bench/login-throughput.ts --only bridge
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { generateSigningKeys } from '../src/config/secrets.js';
import { createStorage, waitUntilAvailable, type Storage } from '../src/storage/index.js';
import { startBridge, type BridgeHandle } from '../test/support/bridge.js';
import { startRedisServer, type RedisServerHandle } from '../test/support/redis-server.js';
import { RelyingParty, type AuthorizationRequest } from '../test/support/relying-party.js';
import { UserAgent, type Page } from '../test/support/user-agent.js';
import { startBareProvider, type BareProviderHandle } from './bare-provider.js';

const RP_REDIRECT = 'http://127.0.0.1:9/callback';
const RP_CLIENT = { client_id: 'bench-service', client_secret: 'bench-service-secret-0123456789', redirect_uris: [RP_REDIRECT] };
const DEEP_LINK = 'urn:mpass.id:authnsource:test-school';
/** Catalogue users whose every claim is delivered (config/test-users.json). */
const USERS = ['demo_u0001', 'demo_u0002', 'demo_u0003', 'demo_u0004'];
/** Hard bound on the logins of one phase, whatever its time bound. */
const MAX_LOGINS_PER_PHASE = 1_000_000;

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    redis: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '50' },
    only: { type: 'string' },
  },
});
const positive = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const seconds = positive('seconds', opts.seconds);
const concurrency = Math.floor(positive('concurrency', opts.concurrency));
const rounds = Math.floor(positive('rounds', opts.rounds));
const warmup = Math.floor(positive('warmup', opts.warmup));
if (opts.only !== undefined && opts.only !== 'bridge' && opts.only !== 'bare') throw new Error('--only must be bridge or bare');

interface Tally {
  logins: number;
  errors: number;
  elapsedMs: number;
  /** Process CPU (user + system, µs) while this side ran: servers, directory and clients together. */
  cpuMicros: number;
  latencies: number[];
  firstError?: string;
}
const newTally = (): Tally => ({ logins: 0, errors: 0, elapsedMs: 0, cpuMicros: 0, latencies: [] });

type Login = (n: number) => Promise<void>;

async function redeem(rp: RelyingParty, done: Page, request: AuthorizationRequest): Promise<void> {
  if (!done.url.startsWith(RP_REDIRECT)) throw new Error(`login ended at ${done.url} (status ${done.status}), not at the service`);
  const tokens = await rp.redeem(done.url, request);
  if (!tokens.claims()?.sub) throw new Error('no ID token subject');
}

function bridgeLogin(rp: RelyingParty): Login {
  return async (n) => {
    const username = USERS[n % USERS.length]!;
    const agent = new UserAgent();
    const request = await rp.authorizationRequest({ acr_values: DEEP_LINK });
    const form = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    if (!form.body.includes('name="username"')) throw new Error(`expected the directory's login form at ${form.url} (status ${form.status})`);
    const done = await agent.submit(form, { username, password: `${username}pwd`, action: 'login' }, { stopAt: RP_REDIRECT });
    await redeem(rp, done, request);
  };
}

function bareLogin(rp: RelyingParty): Login {
  return async () => {
    const agent = new UserAgent();
    const request = await rp.authorizationRequest();
    await redeem(rp, await agent.navigate(request.url.href, { stopAt: RP_REDIRECT }), request);
  };
}

/** Runs `concurrency` loops of logins until `count` logins were started or `ms` passed. */
async function drive(login: Login, tally: Tally, bound: { count?: number; ms?: number }): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const deadline = started + (bound.ms ?? Infinity);
  const count = Math.min(bound.count ?? MAX_LOGINS_PER_PHASE, MAX_LOGINS_PER_PHASE);
  let issued = 0;
  const loop = async (): Promise<void> => {
    while (issued < count && performance.now() < deadline) {
      const n = issued++;
      const t0 = performance.now();
      try {
        await login(n);
        tally.latencies.push(performance.now() - t0);
        tally.logins += 1;
      } catch (err) {
        tally.errors += 1;
        tally.firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  tally.elapsedMs += performance.now() - started;
  const used = process.cpuUsage(cpu);
  tally.cpuMicros += used.user + used.system;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const rate = (t: Tally): number => (t.elapsedMs > 0 ? t.logins / (t.elapsedMs / 1000) : NaN);

async function main(): Promise<number> {
  const sides = opts.only ? [opts.only] : ['bridge', 'bare'];
  // Watchdog: the whole run is bounded even if a server stops answering.
  const budgetMs = (seconds + 120) * 1000 * sides.length;
  setTimeout(() => {
    console.error(`bench: gave up after ${budgetMs / 1000} s`);
    process.exit(2);
  }, budgetMs).unref();

  let redis: RedisServerHandle | undefined;
  let bridge: BridgeHandle | undefined;
  let bare: BareProviderHandle | undefined;
  let bareStorage: Storage | undefined;
  try {
    if (opts.redis) redis = await startRedisServer();
    const redisInput = (prefix: string) => (redis ? { url: redis.url, keyPrefix: prefix } : { keyPrefix: prefix });

    bridge = await startBridge({ config: { logLevel: 'silent', clients: [RP_CLIENT], redis: redisInput('bench-bridge:') } });
    bareStorage = createStorage(parseConfig({ redis: redisInput('bench-bare:') }).redis);
    for (const storage of [bridge.storage, bareStorage]) {
      if (!(await waitUntilAvailable(storage, 10_000))) throw new Error('the store did not become available');
    }
    bare = await startBareProvider({
      adapter: bareStorage.adapterFactory('op'),
      jwks: await generateSigningKeys(),
      cookieKeys: [randomBytes(32).toString('base64url')],
      client: RP_CLIENT,
    });
    const rpOf = (issuer: string) => RelyingParty.discover({ issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
    const logins: Record<string, Login> = {
      bridge: bridgeLogin(await rpOf(bridge.issuer)),
      bare: bareLogin(await rpOf(bare.issuer)),
    };

    const tallies: Record<string, Tally> = { bridge: newTally(), bare: newTally() };
    for (const side of sides) {
      const warm = newTally();
      await drive(logins[side]!, warm, { count: warmup, ms: 60_000 });
      if (warm.errors) throw new Error(`${side} warm-up failed ${warm.errors}× (first: ${warm.firstError})`);
    }
    for (let round = 0; round < rounds; round += 1) {
      for (const side of sides) await drive(logins[side]!, tallies[side]!, { ms: (seconds * 1000) / rounds });
    }

    const storageKind = redis ? 'redis' : 'memory';
    console.log(`\nlogin throughput: ${storageKind} storage, concurrency ${concurrency}, ${rounds} × ${(seconds / rounds).toFixed(1)} s per side, warm-up ${warmup} each\n`);
    console.log('side     logins  logins/s   p50 ms   p95 ms  CPU ms/login  errors');
    for (const side of sides) {
      const t = tallies[side]!;
      const sorted = [...t.latencies].sort((a, b) => a - b);
      const cells = [side.padEnd(6), String(t.logins).padStart(8), rate(t).toFixed(1).padStart(9), percentile(sorted, 50).toFixed(1).padStart(8), percentile(sorted, 95).toFixed(1).padStart(8), (t.cpuMicros / 1000 / t.logins).toFixed(2).padStart(13), String(t.errors).padStart(7)];
      console.log(cells.join(' '));
      if (t.firstError) console.log(`  first error (${side}): ${t.firstError}`);
    }
    if (sides.length === 2) console.log(`\nratio: ${(rate(tallies.bridge!) / rate(tallies.bare!)).toFixed(2)}× (target ≥ 0.7×)`);
    return tallies.bridge!.errors + tallies.bare!.errors > 0 ? 1 : 0;
  } finally {
    await bare?.stop();
    await bareStorage?.close();
    await bridge?.stop();
    await redis?.stop();
  }
}

process.exitCode = await main();
