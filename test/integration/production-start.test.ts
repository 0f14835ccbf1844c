import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { initDeployment, SECRET_FILES, type InitResult } from '../../src/admin/init.js';
import { ENVIRONMENT_VARIABLES, loadConfig } from '../../src/config/load.js';
import { startOphServer, type OphServerHandle } from '../support/oph-server.js';
import { listenOnLoopback, onFreePorts } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RelyingParty } from '../support/relying-party.js';
import { trustedLoopbackCertificate, type TestCertificate } from '../support/tls.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from '../support/directory-idp.js';
import { UserAgent } from '../support/user-agent.js';
import { eventually, GiveUp } from '../support/eventually.js';

const SERVICE = { client_id: 'production-service', client_secret: 'production-service-secret-0123456789', redirect_uris: ['https://service.example/callback'] };
const EXAMPLE_CONFIG = resolve('config/production.example.json');

/** What docker-compose.yml gives the bridge, with init's secrets in place of the container secrets. */
function composeEnvironment(secrets: InitResult, overrides: Record<string, string>): Record<string, string> {
  const compose = parseYaml(readFileSync('docker-compose.yml', 'utf8')) as { services: { bridge: { environment: Record<string, string> } } };
  const byMount: Record<string, string> = {
    '/run/secrets/jwks': secrets.files[SECRET_FILES.jwks]!,
    '/run/secrets/cookie_keys': secrets.files[SECRET_FILES.cookieKeys]!,
    '/run/secrets/subject_salt': secrets.files[SECRET_FILES.subjectSalt]!,
    '/run/secrets/directory_keys': secrets.files[SECRET_FILES.directoryKeys]!,
    '/run/secrets/admin_operators': secrets.files[SECRET_FILES.operators]!,
    '/run/secrets/saml_signing_key': secrets.files[SECRET_FILES.samlSigningKey]!,
    '/run/secrets/saml_signing_cert': secrets.files[SECRET_FILES.samlSigningCert]!,
    '/run/secrets/saml_encryption_key': secrets.files[SECRET_FILES.samlEncryptionKey]!,
    '/run/secrets/saml_encryption_cert': secrets.files[SECRET_FILES.samlEncryptionCert]!,
  };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(compose.services.bridge.environment)) {
    // A variable may name several mounted files (key:cert pairs).
    env[name] = String(value).replace(/\/run\/secrets\/\w+/g, (mount) => byMount[mount] ?? mount);
  }
  return { ...env, CONFIG_FILE: EXAMPLE_CONFIG, ...overrides };
}

/**
 * A TLS-terminating reverse proxy, as in front of every production deployment, on a port the OS
 * picks (the issuer names it); it forwards to `target()`, the bridge's port once it has one.
 */
async function startProxy(target: () => number, certificate: TestCertificate): Promise<{ server: Server; port: number }> {
  const server = createHttpsServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    const directoryIdp = httpRequest(
      {
        host: '127.0.0.1',
        port: target(),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    directoryIdp.on('error', () => res.writeHead(502).end());
    req.pipe(directoryIdp);
  });
  return { server, port: await listenOnLoopback(server) };
}

describe('the production start: built JavaScript, NODE_ENV=production, Redis, the shipped configuration', () => {
  let redis: RedisServerHandle;
  let oph: OphServerHandle;
  let directoryIdp: DirectoryIdpHandle;
  let proxy: Server;
  let bridge: ChildProcess;
  let issuer: string;
  let secrets: InitResult;
  let output = '';
  let startEnv: Record<string, string> = {};
  const work = mkdtempSync(join(tmpdir(), 'mpassid-production-'));

  beforeAll(async () => {
    // Exactly what the image runs: `npm run build`, then `node dist/main.js`.
    const build = spawnSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
    expect(build.stdout + build.stderr).toBe('');
    const certificate = trustedLoopbackCertificate();
    redis = await startRedisServer({ appendOnly: true });
    oph = await startOphServer();
    let bridgePort = 0;
    const proxied = await startProxy(() => bridgePort, certificate);
    proxy = proxied.server;
    issuer = `https://127.0.0.1:${proxied.port}`;
    directoryIdp = await startDirectoryIdp({ redirectUris: [`${issuer}/upstream/city/callback`], tls: certificate });
    secrets = await initDeployment({ dir: join(work, 'secrets'), operator: 'first-operator' });
    const directorySecretFile = join(work, 'city-client-secret');
    writeFileSync(directorySecretFile, directoryIdp.clientSecret, { mode: 0o600 });
    // The shipped example, with a directory and a service of this deployment added, as an operator would.
    const config = {
      ...JSON.parse(readFileSync(EXAMPLE_CONFIG, 'utf8')),
      organisations: { source: 'http', baseUrl: oph.baseUrl },
      upstreams: [
        {
          id: 'city',
          displayName: { fi: 'Kaupungin koulut' },
          issuer: directoryIdp.issuer,
          clientId: directoryIdp.clientId,
          logoUri: 'https://city.example/logo.png',
        },
      ],
      clients: [SERVICE],
    };
    const configFile = join(work, 'production.json');
    writeFileSync(configFile, JSON.stringify(config));
    // The process is told its ports (PORT, ADMIN_PORT) and does not report what it bound: picked
    // first, and new ones if it exits because one was taken meanwhile (EADDRINUSE).
    await onFreePorts(2, async ([port, adminPort]) => {
      const env = composeEnvironment(secrets, {
        CONFIG_FILE: configFile,
        ISSUER: issuer,
        REDIS_URL: redis.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        ADMIN_PORT: String(adminPort),
        UPSTREAM_CITY_CLIENT_SECRET_FILE: directorySecretFile,
        NODE_EXTRA_CA_CERTS: certificate.certFile,
      });
      startEnv = { PATH: process.env.PATH ?? '', ...env };
      output = '';
      bridgePort = port!;
      const child = spawn(process.execPath, ['dist/main.js'], { env: startEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      bridge = child;
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      // 'close': exited, and everything it wrote has been read (its reason included).
      let ended = false;
      child.once('close', () => (ended = true));
      await eventually(
        async () => {
          if (ended) throw new GiveUp(`the bridge exited: ${output}`);
          return fetch(`${issuer}/readyz`).then(
            (r) => r.ok,
            () => false,
          );
        },
        { timeoutMs: 10_000, what: 'the bridge being ready' },
      );
    });
  });

  afterAll(async () => {
    bridge?.kill('SIGTERM');
    if (bridge && bridge.exitCode === null) await new Promise((done) => bridge.once('exit', done));
    await new Promise<void>((done) => (proxy ? proxy.close(() => done()) : done()));
    await directoryIdp?.stop();
    await oph?.stop();
    await redis?.stop();
  });

  it('is ready, and publishes discovery for its https issuer', async () => {
    expect((await fetch(`${issuer}/readyz`)).status).toBe(200);
    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(issuer);
    expect(discovery.authorization_endpoint).toBe(`${issuer}/auth`);
    // init's keys: an RS256 and an ES256 one, both published.
    const jwks = (await (await fetch(String(discovery.jwks_uri))).json()) as { keys: Array<{ alg: string; d?: string }> };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    expect(jwks.keys.some((k) => k.d !== undefined)).toBe(false);
  });

  it('signs a user in through the configured directory', async () => {
    const rp = await RelyingParty.discover({
      issuer,
      clientId: SERVICE.client_id,
      clientSecret: SERVICE.client_secret,
      redirectUri: SERVICE.redirect_uris[0]!,
    });
    const request = await rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:city' });
    const agent = new UserAgent('en');
    const login = await agent.navigate(request.url.href, { stopAt: SERVICE.redirect_uris[0]! });
    expect(login.url.startsWith(directoryIdp.issuer)).toBe(true);
    const done = await agent.submit(
      login,
      { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' },
      { stopAt: SERVICE.redirect_uris[0]! },
    );
    const tokens = await rp.redeem(done.url, request);
    expect(tokens.claims()).toMatchObject({ iss: issuer, given_name: 'Aino', 'urn:mpass.id:schoolCode': ['30076'] });
    // Cookies are Secure behind the proxy.
    expect(
      agent.history
        .flatMap((p) => p.headers.getSetCookie())
        .filter((c) => c.startsWith('mpass_'))
        .every((c) => /;\s*secure/i.test(c)),
    ).toBe(true);
  });

  it("refuses to start on a Redis that would lose the federation's records (no AOF)", async () => {
    const volatile = await startRedisServer();
    try {
      const child = spawn(process.execPath, ['dist/main.js'], {
        env: { ...startEnv, REDIS_URL: volatile.url, PORT: '0', ADMIN_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((done) => child.once('exit', done));
      expect(code).toBe(1);
      expect(stderr).toContain('appendonly is off');
    } finally {
      await volatile.stop();
    }
  });

  it('runs without development tools and logs JSON', () => {
    expect(bridge.spawnargs).toEqual([process.execPath, 'dist/main.js']);
    const lines = output.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(output).not.toContain(directoryIdp.clientSecret);
  });
});

describe('the shipped deployment files', () => {
  it('docker-compose.yml runs production on 127.0.0.1 only, Redis with AOF every second, secrets from files', () => {
    const compose = parseYaml(readFileSync('docker-compose.yml', 'utf8')) as {
      services: { redis: { command: string[] }; bridge: { environment: Record<string, string>; ports: string[]; secrets: string[]; read_only: boolean } };
      secrets: Record<string, { file: string }>;
    };
    const { bridge, redis } = compose.services;
    expect(bridge.environment.NODE_ENV).toBe('production');
    expect(bridge.environment.MPASSID_ENVIRONMENT).toBe('production');
    expect(bridge.environment.TRUST_PROXY).toBe('true');
    for (const port of bridge.ports) expect(port.startsWith('127.0.0.1:')).toBe(true);
    expect(bridge.read_only).toBe(true);
    expect(redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction']));
    // Every variable is one the bridge reads (directly or as <NAME>_FILE), and no secret is inline.
    const known = new Set([...ENVIRONMENT_VARIABLES, ...ENVIRONMENT_VARIABLES.map((n) => `${n}_FILE`), 'CONFIG_FILE']);
    for (const name of Object.keys(bridge.environment)) expect(known.has(name) ? name : `unknown ${name}`).toBe(name);
    for (const name of ['JWKS_FILE', 'COOKIE_KEYS_FILE', 'SUBJECT_SALT_FILE', 'DIRECTORY_KEYS_FILE', 'ADMIN_OPERATORS_FILE']) {
      expect(bridge.environment[name]).toMatch(/^\/run\/secrets\//);
    }
    expect(Object.keys(compose.secrets).sort()).toEqual([...bridge.secrets].sort());
  });

  it("the production example passes validation with init's secrets, and explains what is missing without them", async () => {
    const secrets = await initDeployment({ dir: join(mkdtempSync(join(tmpdir(), 'mpassid-init-')), 'secrets'), operator: 'op' });
    const config = loadConfig(composeEnvironment(secrets, { ISSUER: 'https://mpassid.example.fi', REDIS_URL: 'redis://127.0.0.1:6390' }));
    expect(config).toMatchObject({ env: 'production', environment: 'production', trustProxy: true, admin: { port: 9090 } });
    expect(config.admin.operators.map((o) => o.username)).toEqual(['op']);
    expect(config.secrets.cookieKeys).toHaveLength(1);
    expect(() => loadConfig({ NODE_ENV: 'production', CONFIG_FILE: EXAMPLE_CONFIG })).toThrow(
      /issuer: must be https[\s\S]*secrets\.jwksFile[\s\S]*secrets\.cookieKeys[\s\S]*secrets\.subjectSalt[\s\S]*redis\.url/,
    );
  });
});
