import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { deepLinkLogin, RP_REDIRECT, signInAtDirectory, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { UserAgent } from '../support/user-agent.js';
import { eventually } from '../support/eventually.js';
import { testSecrets } from '../support/keys.js';

/** Rewrites a URL of instance A to reach instance B of the same deployment (a load balancer's job). */
const via = (url: string, from: Federation, to: Federation) => url.replace(`:${from.bridge.port}/`, `:${to.bridge.port}/`);

describe('a deployment of several bridge processes sharing Redis', () => {
  let redis: RedisServerHandle;
  let secrets: BridgeSecrets;
  let a: Federation;
  let b: Federation;

  beforeAll(async () => {
    redis = await startRedisServer();
    secrets = testSecrets();
    const config = { redis: { url: redis.url, commandTimeoutMs: 500 } };
    a = await startFederation({ config, secrets });
    b = await startFederation({ config, secrets, directoryIdp: a.directoryIdp, issuer: a.bridge.issuer });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    // A restarted instance uses the directory of the first one, which it does not stop: stopped here.
    await a?.directoryIdp.stop();
    await redis?.stop();
  });

  it('keeps the whole state in Redis', async () => {
    expect(a.bridge.storage.kind).toBe('redis');
    expect(b.bridge.storage.kind).toBe('redis');
    const raw = new Redis(redis.url);
    try {
      const before = new Set(await raw.keys('*'));
      const writtenSince = async () => (await raw.keys('*')).filter((key) => !before.has(key));
      /** The kinds of state among keys (`mpassid:<namespace>:<Kind>:<id>`, the bridge's own under `state:`). */
      const kindsOf = (keys: string[]) => new Set(keys.map((key) => /^mpassid:[^:]+:(?:state:)?([A-Za-z]+):/.exec(key)?.[1]));

      // A login in progress: the provider's interaction and the bridge's transaction with the directory.
      const agent = new UserAgent();
      const request = await a.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
      const atDirectory = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      expect([...kindsOf(await writtenSince())]).toEqual(expect.arrayContaining(['Interaction', 'txn']));

      // A finished login: the session, the grant, the code, the tokens and the account's claims.
      const done = await signInAtDirectory(agent, atDirectory, 'pupil-complete');
      const tokens = await a.rp.redeem(done.url, request);
      expect((await a.rp.userinfo(tokens.access_token, tokens.claims()!.sub)).given_name).toBe('Aino');
      const written = await writtenSince();
      expect([...kindsOf(written)]).toEqual(expect.arrayContaining(['Session', 'Grant', 'AuthorizationCode', 'AccessToken', 'account']));

      // And nowhere else: with what the login wrote gone from Redis, the instance that served it knows nothing of it.
      await raw.del(...written);
      const me = await fetch(`${a.bridge.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(me.status).toBe(401);
      const silent = await a.rp.authorizationRequest({ prompt: 'none' });
      expect(new URL((await agent.navigate(silent.url.href, { stopAt: RP_REDIRECT })).url).searchParams.get('error')).toBe('login_required');
    } finally {
      raw.disconnect();
    }
  });

  it('finishes on instance B a login started on instance A', async () => {
    const agent = new UserAgent();
    const request = await a.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(login.url.startsWith(a.directoryIdp.issuer)).toBe(true);
    const atCallback = await agent.submit(
      login,
      { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' },
      { stopAt: `${a.bridge.issuer}/upstream/` },
    );
    // The directory's callback, and everything after it, is served by B.
    const done = await agent.navigate(via(atCallback.url, a, b), { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    // B took the directory's answer and handed the login to the provider (a redirect to its resume route).
    const atB = agent.history.find((p) => p.url.includes(`:${b.bridge.port}/upstream/`));
    expect(atB?.status).toBe(303);
    expect(new URL(atB!.headers.get('location')!, atB!.url).pathname).toMatch(/^\/auth\/[^/]+$/);
    const tokens = await b.rp.redeem(done.url, request);
    expect(tokens.claims()!.given_name).toBe('Aino');
    // The token minted through B is good at A's userinfo.
    expect((await a.rp.userinfo(tokens.access_token, tokens.claims()!.sub)).given_name).toBe('Aino');
  });

  it('loses no session when a bridge process restarts', async () => {
    const agent = new UserAgent();
    const first = await deepLinkLogin(a, agent, 'teacher');
    const sub = (await a.rp.redeem(first.callback, first.request)).claims()!.sub;
    const port = a.bridge.port;
    await a.bridge.stop();
    a = await startFederation({ config: { redis: { url: redis.url, commandTimeoutMs: 500 } }, secrets, directoryIdp: a.directoryIdp, bridgePort: port });
    const request = await a.rp.authorizationRequest({ prompt: 'none' });
    const done = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    expect((await a.rp.redeem(done.url, request)).claims()!.sub).toBe(sub);
  });

  it('answers 503 at once while Redis is down, and recovers by itself', async () => {
    await redis.stop();
    try {
      await eventually(() => !a.bridge.storage.isAvailable(), { what: 'the bridge noticing Redis is gone' });
      const agent = new UserAgent('en');
      const request = await a.rp.authorizationRequest();
      const page = await agent.request(request.url.href);
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.body).toContain('temporarily unavailable');
      expect(page.headers.get('retry-after')).toBe('5');

      const token = await fetch(`${a.bridge.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x' }) });
      expect(token.status).toBe(503);
      expect(await token.json()).toMatchObject({ error: 'temporarily_unavailable' });

      expect((await fetch(`${a.bridge.issuer}/readyz`)).status).toBe(503);
      expect((await fetch(`${a.bridge.issuer}/healthz`)).status).toBe(200);
    } finally {
      await redis.restart();
    }
    await eventually(async () => (await fetch(`${a.bridge.issuer}/readyz`)).status === 200, { timeoutMs: 10_000, what: 'the bridge being ready again' });
    const agent = new UserAgent();
    const { request, callback } = await deepLinkLogin(a, agent, 'pupil-complete');
    expect((await a.rp.redeem(callback, request)).claims()!.given_name).toBe('Aino');
  });

  it('fails a login whose store disappears mid-way with a 503 page, not a hang or a 500', async () => {
    const agent = new UserAgent('en');
    const request = await a.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    await redis.stop();
    try {
      await eventually(() => !a.bridge.storage.isAvailable(), { what: 'the bridge noticing Redis is gone' });
      const page = await signInAtDirectory(agent, login, 'pupil-complete');
      expect(page.status).toBe(503);
      expect(page.body).toContain('temporarily unavailable');
    } finally {
      await redis.restart();
    }
  });
});
