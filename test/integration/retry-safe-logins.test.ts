import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RP_CLIENT, RP_REDIRECT, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { persistentLogin, tally } from '../support/persistent-login.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { UserAgent, type Page } from '../support/user-agent.js';
import { eventually } from '../support/eventually.js';

/*
 * Item 1 of issue 10: every step of a login can be repeated after the store failed under it.
 * Failures are made exact with Redis ACLs: denying one command makes the store fail at that write
 * while the reads and the one-time operations before it succeed (a real redis-server, no mocks).
 */

/** Catalogue users whose claims pass the validation table (others are blocked by design). */
const SIGNABLE = ['pupil-complete', 'teacher', 'pupil-two-schools', 'pupil-school-office'];

async function tokenRequest(fed: Federation, code: string, codeVerifier: string) {
  const response = await fetch(`${fed.bridge.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${RP_CLIENT.client_id}:${RP_CLIENT.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: RP_REDIRECT, code_verifier: codeVerifier }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('logins in flight survive store failures', () => {
  let redis: RedisServerHandle;
  let admin: Redis;
  let fed: Federation;

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    fed = await startFederation({ config: { redis: { url: redis.url, commandTimeoutMs: 500 } } });
  });

  afterAll(async () => {
    await fed?.stop();
    admin?.disconnect();
    await redis?.stop();
  });

  /** Makes the bridge's store refuse these commands (NOPERM) until `allow`. */
  const deny = (...commands: string[]) => admin.call('ACL', 'SETUSER', 'default', ...commands.map((c) => `-${c}`));
  const allow = (...commands: string[]) => admin.call('ACL', 'SETUSER', 'default', ...commands.map((c) => `+${c}`));

  /** Up to the directory's redirect back to the bridge's callback. */
  async function toCallback(agent: UserAgent, username: string) {
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const atCallback = await agent.submit(login, { username, password: `${username}pwd`, action: 'login' }, { stopAt: `${fed.bridge.issuer}/upstream/` });
    expect(atCallback.status).toBe(0);
    return { request, callbackUrl: atCallback.url };
  }

  /** The request fails with 503 while `commands` are denied; the same request again then succeeds. */
  async function failOnceThenRepeat(agent: UserAgent, url: string, commands: string[]): Promise<{ failed: Page; repeated: Page }> {
    await deny(...commands);
    let failed: Page;
    try {
      failed = await agent.request(url);
    } finally {
      await allow(...commands);
    }
    const repeated = await agent.request(url);
    return { failed, repeated };
  }

  it('repeats the directory callback after the writes behind it failed (the transaction was already taken)', async () => {
    const agent = new UserAgent('en');
    const { request, callbackUrl } = await toCallback(agent, 'pupil-two-schools');
    // GETDEL succeeds, the account write (a SET in its script) fails.
    const { failed, repeated } = await failOnceThenRepeat(agent, callbackUrl, ['set']);
    expect(failed.status).toBe(503);
    expect(failed.headers.getSetCookie().some((c) => c.startsWith('mpass_upstream'))).toBe(false);
    expect(repeated.status).toBe(303);
    expect(repeated.headers.get('location')).toMatch(/\/auth\/[^/]+$/);
    // Another browser with the same URL has no transaction: refused.
    expect((await new UserAgent('en').request(callbackUrl)).status).toBe(400);
    const done = await agent.navigate(new URL(repeated.headers.get('location')!, callbackUrl).href, { stopAt: RP_REDIRECT });
    expect((await fed.rp.redeem(done.url, request)).claims()!.sub).toBeDefined();
  });

  it('repeats the directory callback after the grant could not be saved', async () => {
    const agent = new UserAgent('en');
    const { request, callbackUrl } = await toCallback(agent, 'pupil-school-office');
    // The account is saved; the grant (HSET in its script) is not.
    const { failed, repeated } = await failOnceThenRepeat(agent, callbackUrl, ['hset']);
    expect(failed.status).toBe(503);
    expect(failed.headers.getSetCookie().some((c) => c.startsWith('mpass_upstream'))).toBe(false);
    expect(repeated.status).toBe(303);
    const done = await agent.navigate(new URL(repeated.headers.get('location')!, callbackUrl).href, { stopAt: RP_REDIRECT });
    expect((await fed.rp.redeem(done.url, request)).claims()!.sub).toBeDefined();
  });

  it("repeats oidc-provider's resume after the code or session could not be saved (the interaction was already destroyed)", async () => {
    const agent = new UserAgent('en');
    const { request, callbackUrl } = await toCallback(agent, 'no-school-code');
    const toResume = await agent.request(callbackUrl);
    const resumeUrl = new URL(toResume.headers.get('location')!, callbackUrl).href;
    const { failed, repeated } = await failOnceThenRepeat(agent, resumeUrl, ['hset']);
    expect(failed.status).toBe(503);
    expect(repeated.status).toBe(303);
    expect(repeated.headers.get('location')!.startsWith(RP_REDIRECT)).toBe(true);
    expect((await fed.rp.redeem(repeated.headers.get('location')!, request)).claims()!.sub).toBeDefined();
    // The interaction is gone once the resume succeeded: a later repeat ends on an error page.
    expect((await agent.request(resumeUrl)).status).toBe(400);
  });

  it('lets the service repeat a token request whose token save failed after the code was consumed; a later replay still revokes', async () => {
    const agent = new UserAgent('en');
    const { request, callbackUrl } = await toCallback(agent, 'unknown-school');
    const done = await agent.navigate(callbackUrl, { stopAt: RP_REDIRECT });
    const code = new URL(done.url).searchParams.get('code')!;
    // The consumption mark (HSETNX in a script) lands, the access token save (HSET) fails.
    await deny('hset');
    let failed: Awaited<ReturnType<typeof tokenRequest>>;
    try {
      failed = await tokenRequest(fed, code, request.codeVerifier);
    } finally {
      await allow('hset');
    }
    expect(failed.status).toBe(503);
    expect(failed.body.error).toBe('temporarily_unavailable');
    // Another PKCE verifier of the same service is refused without spending the repeat.
    expect((await tokenRequest(fed, code, `${request.codeVerifier.slice(0, -2)}xx`)).body.error).toBe('invalid_grant');
    const repeated = await tokenRequest(fed, code, request.codeVerifier);
    expect(repeated.status).toBe(200);
    expect(typeof repeated.body.access_token).toBe('string');
    const userinfo = await fetch(`${fed.bridge.issuer}/me`, { headers: { authorization: `Bearer ${String(repeated.body.access_token)}` } });
    expect(userinfo.status).toBe(200);
    // A replay after the successful repeat: invalid_grant, and the grant's tokens are revoked.
    const replay = await tokenRequest(fed, code, request.codeVerifier);
    expect(replay.body.error).toBe('invalid_grant');
    const after = await fetch(`${fed.bridge.issuer}/me`, { headers: { authorization: `Bearer ${String(repeated.body.access_token)}` } });
    expect(after.status).toBe(401);
  });

  it('offers to hand the service an error when the transaction of a known interaction is gone', async () => {
    const agent = new UserAgent('en');
    const { callbackUrl } = await toCallback(agent, 'closed-school');
    // The transaction alone is lost (as a crash can lose the last second of writes).
    for (const key of await admin.keys('*state:txn:*')) await admin.del(key);
    const page = await agent.request(callbackUrl);
    expect(page.status).toBe(400);
    const button = /id="continue" href="([^"]+)"/.exec(page.body);
    expect(button).not.toBeNull();
    const toService = await agent.navigate(new URL(button![1]!.replace(/&amp;/g, '&'), callbackUrl).href, { stopAt: RP_REDIRECT });
    expect(new URL(toService.url).searchParams.get('error')).toBe('access_denied');
  });

  it.each([
    ['SIGTERM', () => redis.restart()],
    [
      'SIGKILL',
      async () => {
        await redis.kill();
        await redis.restart();
      },
    ],
  ])('completes the logins in flight when Redis restarts (%s, AOF on) and users reload', async (_signal: string, restart: () => Promise<void>) => {
    const logins = 8;
    const persistence = { reloads: 5, tokenRetries: 3, waitMs: 400 };
    const agents = Array.from({ length: logins }, () => new UserAgent('en'));
    const running = agents.map((agent, i) => persistentLogin(fed, SIGNABLE[i % SIGNABLE.length]!, persistence, agent));
    // Every login in flight: the bridge has answered each browser (its interaction is in Redis).
    await eventually(() => agents.every((agent) => agent.history.some((page) => page.url.startsWith(fed.bridge.issuer))), {
      what: 'every login reaching the bridge',
    });
    await restart();
    const all = await Promise.all(running);
    const results = tally(all);
    expect(results.serverErrors).toBe(0);
    // SIGTERM: Redis writes its AOF on the way down, so every login completes. SIGKILL may lose the
    // last second's writes (appendfsync everysec): at most one login in flight at this scale.
    expect(results.completed).toBeGreaterThanOrEqual(_signal === 'SIGTERM' ? logins : logins - 1);
    // A lost login ends on a page with a way back to the service, never in a hang.
    expect(results.lost + results.completed).toBe(logins);
  });
});
