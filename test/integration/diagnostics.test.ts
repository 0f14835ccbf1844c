import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import type { BridgeConfigInput } from '../../src/config/schema.js';
import { createDeployment } from '../../src/deployment.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/types.js';
import { RP_REDIRECT, signInAtDirectory, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { UserAgent, type Page } from '../support/user-agent.js';
import { environmentJwks, testSecrets } from '../support/keys.js';

type LogLine = Record<string, any>;

/** The reference an error page shows (what a user would read out to support). */
function referenceOn(page: Page): string {
  const match = /<p class="reference">[^<]*<code>([0-9A-Z]{10})<\/code>/.exec(page.body);
  expect(match).not.toBeNull();
  return match![1]!;
}

/** Nothing in the log is an error that lost its content, or a reason hidden by the censor of `code`. */
function expectDiagnosableLog(lines: LogLine[], text: string) {
  expect(text).not.toContain('"type":"object"');
  for (const line of lines.filter((l) => l.err !== undefined)) {
    expect(typeof line.err.type).toBe('string');
    expect(typeof line.err.message).toBe('string');
    expect(line.err.errorCode).not.toBe('[redacted]');
  }
  for (const line of lines.filter((l) => l.reason !== undefined)) expect(line.reason).not.toBe('[redacted]');
}

describe('diagnosable failures of a bridge', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ config: { upstreamHttp: { timeoutMs: 1000, clockToleranceSeconds: 5 } } });
  });
  afterEach(() => fed.directoryIdp.setFault('none'));
  afterAll(async () => {
    await fed?.stop();
  });

  const logs = () => fed.bridge.logs as LogLine[];

  it('logs an unexpected error once, with class, message and stack, under the reference its page shows', async () => {
    const agent = new UserAgent('en');
    const request = await fed.rp.authorizationRequest({ ui_locales: 'en' });
    const chooser = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const uid = /\/interaction\/([^/?]+)$/.exec(new URL(chooser.url).pathname)![1]!;
    // An interaction this version never writes (as one left by another version in a rolling upgrade):
    // a real fault of a real request, which nothing below the error boundary expects.
    const interactions = fed.bridge.storage.adapterFactory('op-test')('Interaction');
    const stored = await interactions.find(uid);
    await interactions.upsert(uid, { ...stored!, params: null as never, prompt: 'not an interaction' as never }, 60);

    const page = await agent.navigate(`${fed.bridge.issuer}/interaction/${uid}/complete`, { stopAt: RP_REDIRECT });
    expect(page.status).toBe(500);
    expect(page.body).toContain('An unexpected error occurred.');
    expect(page.body).not.toMatch(/\n\s+at |Error:|stack/);
    const reference = referenceOn(page);
    expect(page.headers.get('x-request-id')).toBe(reference);

    const errorLines = logs().filter((l) => l.msg === 'unexpected error');
    expect(errorLines).toHaveLength(1);
    const [line] = errorLines;
    expect(line).toMatchObject({ level: 50, ref: reference, path: `/interaction/${uid}/complete` });
    expect(line!.err.type).toMatch(/Error$/);
    expect(line!.err.message.length).toBeGreaterThan(0);
    expect(line!.err.stack).toContain(`${line!.err.type}: `);
    expect(line!.err.stack).toMatch(/\n\s+at /);
    // The stored value that broke the request is data: the engine's message quoted it, the log does not.
    expect(fed.bridge.logText()).not.toContain('not an interaction');
    // The same reference finds the request line, with its status.
    expect(logs().filter((l) => l.msg === 'request' && l.ref === reference)).toEqual([expect.objectContaining({ status: 500 })]);
    expectDiagnosableLog(logs(), fed.bridge.logText());
  });

  it('logs a directory failure with a readable reason and cause, under the reference its page shows', async () => {
    fed.directoryIdp.setFault('token-500');
    const agent = new UserAgent('en');
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, ui_locales: 'en' });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const page = await signInAtDirectory(agent, login, 'pupil-complete');
    expect(page.status).toBe(502);
    const reference = referenceOn(page);

    const line = logs().find((l) => l.msg === 'directory login failed' && l.ref === reference);
    expect(line).toBeDefined();
    expect(line).toMatchObject({ level: 40, directoryId: SCHOOL_DIRECTORY_ID, reason: 'directory_unavailable' });
    expect(line!.err).toMatchObject({ type: 'DirectoryError', errorCode: 'directory_unavailable' });
    expect(line!.err.stack).toContain('DirectoryError: ');
    // What openid-client said, by class: the directory's response body stays out.
    expect(typeof line!.err.cause?.type).toBe('string');
    expect(JSON.stringify(line)).not.toContain('pupil-complete');
    expectDiagnosableLog(logs(), fed.bridge.logText());
  });

  it("shows oidc-provider's error pages with the reference of their log line", async () => {
    const url = new URL(`${fed.bridge.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'no-such-service',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: RP_REDIRECT,
      ui_locales: 'sv',
    }).toString();
    const page = await new UserAgent('sv').request(url.href);
    expect(page.status).toBe(400);
    expect(page.body).toContain('Referens');
    const reference = referenceOn(page);
    expect(page.headers.get('x-request-id')).toBe(reference);
    expect(logs().find((l) => l.msg === 'oidc error page' && l.ref === reference)).toMatchObject({ error: 'invalid_client' });
  });

  it('shows a reference on pages for what does not exist, and answers APIs with the header', async () => {
    const page = await new UserAgent('fi').request(`${fed.bridge.issuer}/interaction/abcdefghijkl/login/no-such-school`);
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect(page.body).toContain('Tunniste');
    expect(page.headers.get('x-request-id')).toBe(referenceOn(page));
    const api = await fetch(`${fed.bridge.issuer}/.well-known/openid-configuration`);
    expect(api.headers.get('x-request-id')).toMatch(/^[0-9A-Z]{10}$/);
  });
});

/** A request with the Host (and X-Forwarded-Host) a proxy would send; fetch does not let a test set Host. */
function get(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The test and production environments, each on a host of its own, behind a proxy (trustProxy). */
describe('environments on hosts of their own, behind a proxy', () => {
  const TEST_ISSUER = 'https://test.mpassid.example';
  const PRODUCTION_ISSUER = 'https://mpassid.example';
  const running: Array<{ server: Server; storage: Storage }> = [];
  const lines: string[] = [];

  async function deployment(settings: Partial<BridgeConfigInput>): Promise<number> {
    const secrets = { ...testSecrets(), environmentJwks: { test: environmentJwks.second(), production: environmentJwks.third() } };
    const config = parseConfig({
      env: 'test',
      logLevel: 'info',
      trustProxy: true,
      environments: [
        { name: 'test', issuer: TEST_ISSUER },
        { name: 'production', issuer: PRODUCTION_ISSUER },
      ],
      ...settings,
    });
    const storage = createMemoryStorage();
    const logger = createLogger(
      'info',
      new Writable({
        write: (chunk, _e, done) => {
          lines.push(...String(chunk).split('\n').filter(Boolean));
          done();
        },
      }),
    );
    const { app } = createDeployment({ config, secrets, storage, logger });
    const server = createServer(app.callback());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    running.push({ server, storage });
    return (server.address() as AddressInfo).port;
  }

  let ignoring: number;
  let honouring: number;
  beforeAll(async () => {
    ignoring = await deployment({});
    honouring = await deployment({ trustForwardedHost: true });
  });
  afterAll(async () => {
    for (const { server, storage } of running) {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await storage.close();
    }
  });

  const issuerAt = async (port: number, headers: Record<string, string>) => {
    const answer = await get(port, '/.well-known/openid-configuration', { 'x-forwarded-proto': 'https', ...headers });
    expect(answer.status).toBe(200);
    const discovery = JSON.parse(answer.body) as { issuer: string; authorization_endpoint: string };
    return { issuer: discovery.issuer, authorization: discovery.authorization_endpoint };
  };

  it('chooses the environment by the Host header, whatever X-Forwarded-Host says, unless told to trust it', async () => {
    const byHost = await issuerAt(ignoring, { host: 'test.mpassid.example', 'x-forwarded-host': 'mpassid.example' });
    expect(byHost.issuer).toBe(TEST_ISSUER);
    // Nor does the ignored header leak into the URLs the provider builds.
    expect(byHost.authorization).toBe(`${TEST_ISSUER}/auth`);
    expect((await issuerAt(ignoring, { host: 'mpassid.example', 'x-forwarded-host': 'test.mpassid.example' })).issuer).toBe(PRODUCTION_ISSUER);

    const forwarded = await issuerAt(honouring, { host: 'bridge.internal:8080', 'x-forwarded-host': 'mpassid.example' });
    expect(forwarded).toEqual({ issuer: PRODUCTION_ISSUER, authorization: `${PRODUCTION_ISSUER}/auth` });
    expect((await issuerAt(honouring, { host: 'mpassid.example', 'x-forwarded-host': 'test.mpassid.example' })).issuer).toBe(TEST_ISSUER);
  });

  it('matches hosts in any case, with a trailing dot or the default port', async () => {
    expect((await issuerAt(ignoring, { host: 'TEST.MPASSid.Example' })).issuer).toBe(TEST_ISSUER);
    expect((await issuerAt(ignoring, { host: 'mpassid.example.' })).issuer).toBe(PRODUCTION_ISSUER);
    expect((await issuerAt(honouring, { host: 'bridge.internal', 'x-forwarded-host': 'Test.Mpassid.Example:443' })).issuer).toBe(TEST_ISSUER);
  });

  it('puts the security headers and a reference on what the outer app answers itself', async () => {
    for (const path of ['/nothing-here', '/healthz']) {
      const answer = await get(ignoring, path, { host: 'elsewhere.example' });
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(answer.headers['strict-transport-security']).toContain('max-age=');
      expect(answer.headers['x-request-id']).toMatch(/^[0-9A-Z]{10}$/);
    }
    expect((await get(ignoring, '/nothing-here', { host: 'elsewhere.example' })).status).toBe(404);
  });

  it('logs each request once, with its full path and reference', async () => {
    const answer = await get(ignoring, '/.well-known/openid-configuration', { host: 'test.mpassid.example' });
    const ref = answer.headers['x-request-id'];
    const requestLines = lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.ref === ref && l.msg === 'request');
    expect(requestLines).toEqual([expect.objectContaining({ path: '/.well-known/openid-configuration', status: 200 })]);
  });
});
