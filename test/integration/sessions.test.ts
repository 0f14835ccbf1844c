import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { AccountStore, type AccountSnapshot } from '../../src/accounts/accounts.js';
import { hashPassword } from '../../src/admin/passwords.js';
import { choose, deepLinkLogin, RP_REDIRECT, signInAtDirectory, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { OPERATOR, OPERATOR_AUTH, type Registered } from '../support/environments.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RelyingParty } from '../support/relying-party.js';
import { parseForm, UserAgent, type Page } from '../support/user-agent.js';
import { epochSeconds as now, untilClockPasses } from '../support/eventually.js';

/**
 * Short lifetimes, so that waiting past them takes seconds (the defaults are an hour and a school
 * day), yet long enough that a login on a loaded machine finishes well within each. A refresh-token
 * grant (refreshTokenSeconds + authorizationCodeSeconds) outlasts what a login alone keeps the
 * account snapshot for (sessionSeconds + 60), so the test sees the grant keep it.
 */
const TTL = { sessionSeconds: 5, grantSeconds: 4, refreshTokenSeconds: 9, authorizationCodeSeconds: 120 };

/**
 * Shared classroom devices and offline services: the SSO session ends a fixed time after the login,
 * the account snapshot lives as long as whatever needs it (a missing one means a new login), refresh
 * tokens last the configured school day from the login and are rotated, and whatever goes wrong at
 * the resume route is a readable page or an OIDC error to the service.
 */
describe('sessions, account snapshots and refresh tokens', () => {
  let redis: RedisServerHandle;
  let fed: Federation;

  beforeAll(async () => {
    redis = await startRedisServer();
    fed = await startFederation({
      config: {
        redis: { url: redis.url, commandTimeoutMs: 1000 },
        ttl: TTL,
        admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
      } as never,
    });
  });
  afterAll(async () => {
    await fed?.stop();
    await redis?.stop();
  });

  const provider = () => fed.bridge.bridge.provider;
  const sessionCookie = () => `mpass_${fed.bridge.config.environment}_session`;

  /** The browser's SSO session as stored (undefined when there is none). */
  async function storedSession(agent: UserAgent) {
    const id = agent.cookiesFor(`${fed.bridge.issuer}/auth`)[sessionCookie()];
    return id ? provider().Session.find(id) : undefined;
  }

  /** Whatever happens, the browser gets a readable page of the bridge: no 500, no stack trace. */
  function expectReadablePage(page: Page, status: number) {
    expect(page.status).toBe(status);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.body).not.toMatch(/\bat .+\.(js|ts):\d+/);
  }

  /** A service registered through the API, allowed refresh tokens by an operator, with the grant type added (RFC 7592). */
  async function offlineService(name: string): Promise<RelyingParty> {
    const service = await register(name);
    await fed.bridge.bridge.registry.updateSettings(service.client_id, { refreshTokens: true }, OPERATOR.username);
    const {
      registration_access_token: _t,
      registration_client_uri: uri,
      client_id_issued_at: _i,
      client_secret_expires_at: _e,
      ...metadata
    } = (await (await fetch(service.registration_client_uri, { headers: { authorization: `Bearer ${service.registration_access_token}` } })).json()) as Record<
      string,
      unknown
    >;
    const updated = await fetch(String(uri), {
      method: 'PUT',
      headers: { authorization: `Bearer ${service.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...metadata, grant_types: ['authorization_code', 'refresh_token'] }),
    });
    expect(updated.status).toBe(200);
    return serviceOf(service);
  }

  /** A registered service as its relying party sees the bridge. */
  const serviceOf = (service: Registered) =>
    RelyingParty.discover({ issuer: fed.bridge.issuer, clientId: service.client_id, clientSecret: service.client_secret, redirectUri: RP_REDIRECT });

  async function register(name: string): Promise<Registered> {
    const token = await fetch(`${fed.bridge.issuer}/admin/api/initial-access-tokens`, {
      method: 'POST',
      headers: { authorization: OPERATOR_AUTH, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(token.status).toBe(201);
    const { initialAccessToken } = (await token.json()) as { initialAccessToken: string };
    const registered = await fetch(`${fed.bridge.issuer}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${initialAccessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: name, redirect_uris: [RP_REDIRECT] }),
    });
    expect(registered.status).toBe(201);
    return (await registered.json()) as Registered;
  }

  /** A whole login of `rp`'s service; returns its tokens. */
  async function loginAt(rp: RelyingParty, agent = new UserAgent('en')) {
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const done = await signInAtDirectory(agent, login, 'pupil-complete');
    return rp.redeem(done.url, request);
  }

  describe('the SSO session', () => {
    it('ends a fixed time after the login however often it is used; then the next /auth is a new login', async () => {
      const agent = new UserAgent('en');
      const first = await deepLinkLogin(fed, agent, 'pupil-complete');
      await fed.rp.redeem(first.callback, first.request);
      const expiry = (await storedSession(agent))!.exp!;
      expect(expiry).toBeLessThanOrEqual(now() + TTL.sessionSeconds);

      // SSO in a later second than the login uses the session (and saves it anew) without moving its end.
      await untilClockPasses(expiry - TTL.sessionSeconds);
      const sso = await fed.rp.authorizationRequest({ prompt: 'none' });
      const done = await agent.navigate(sso.url.href, { stopAt: RP_REDIRECT });
      expect(new URL(done.url).searchParams.get('code')).toEqual(expect.any(String));
      await fed.rp.redeem(done.url, sso);
      expect((await storedSession(agent))!.exp).toBe(expiry);

      await untilClockPasses(expiry);
      const silent = await fed.rp.authorizationRequest({ prompt: 'none' });
      expect(new URL((await agent.navigate(silent.url.href, { stopAt: RP_REDIRECT })).url).searchParams.get('error')).toBe('login_required');
      const again = await fed.rp.authorizationRequest();
      const chooser = await agent.navigate(again.url.href, { stopAt: RP_REDIRECT });
      expect(chooser.status).toBe(200);
      expect(chooser.body).toContain('Choose your school');
    });

    it('signs in anew, without an error, when the account snapshot of a live session is gone', async () => {
      const agent = new UserAgent('en');
      const first = await deepLinkLogin(fed, agent, 'pupil-complete');
      const sub = (await fed.rp.redeem(first.callback, first.request)).claims()!.sub;
      const session = (await storedSession(agent))!;
      await fed.bridge.storage.state(`bridge-${fed.bridge.config.environment}`).delete(`account:${session.accountId}`);

      const request = await fed.rp.authorizationRequest();
      const chooser = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      expectReadablePage(chooser, 200);
      expect(chooser.body).toContain('Choose your school');
      const silent = await fed.rp.authorizationRequest({ prompt: 'none' });
      expect(new URL((await agent.navigate(silent.url.href, { stopAt: RP_REDIRECT })).url).searchParams.get('error')).toBe('login_required');
      // The new login (the directory remembers the user) restores the snapshot; the service gets its user back.
      const done = await choose(agent, chooser, 'School A');
      expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
      const tokens = await fed.rp.redeem(done.url, request);
      expect(tokens.claims()).toMatchObject({ sub, given_name: 'Aino' });
      expect(await fed.rp.userinfo(tokens.access_token, sub)).toMatchObject({ sub, given_name: 'Aino' });
    });
  });

  describe('refresh tokens', () => {
    it('work after the grant lifetime and the session have ended, rotate on use, and end a school day after the login', async () => {
      const rp = await offlineService('Offline exercise book');
      const tokens = await loginAt(rp);
      const loggedInAt = now();
      expect(tokens.refresh_token).toEqual(expect.any(String));

      // Past both ttl.grantSeconds and ttl.sessionSeconds: the refresh token still works.
      await untilClockPasses(loggedInAt + TTL.sessionSeconds);
      const refreshed = await client.refreshTokenGrant(rp.configuration, tokens.refresh_token!);
      expect(refreshed.refresh_token).toEqual(expect.any(String));
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      const sub = tokens.claims()!.sub;
      expect(refreshed.claims()).toMatchObject({ sub, given_name: 'Aino' });
      expect(await client.fetchUserInfo(rp.configuration, refreshed.access_token, sub)).toMatchObject({ sub, given_name: 'Aino' });

      // Rotation does not extend the chain: the new token ends when the first one would have.
      await untilClockPasses(loggedInAt + TTL.refreshTokenSeconds);
      await expect(client.refreshTokenGrant(rp.configuration, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it("outlive the user's logout, which ends the tokens of services without refresh tokens", async () => {
      const rp = await offlineService('Offline homework');
      const agent = new UserAgent('en');
      const offline = await loginAt(rp, agent);
      // SSO to a service without refresh tokens, in the same browser.
      const online = await fed.rp.authorizationRequest();
      const onlineTokens = await fed.rp.redeem((await agent.navigate(online.url.href, { stopAt: RP_REDIRECT })).url, online);

      const logout = client.buildEndSessionUrl(fed.rp.configuration, { id_token_hint: onlineTokens.id_token! });
      const confirm = await agent.navigate(logout.href, { stopAt: RP_REDIRECT });
      const form = parseForm(confirm);
      await agent.navigate(form.action, { form: { ...form.fields, logout: 'yes' }, stopAt: RP_REDIRECT });
      expect(await storedSession(agent)).toBeUndefined();

      expect((await client.tokenIntrospection(fed.rp.configuration, onlineTokens.access_token)).active).toBe(false);
      const refreshed = await client.refreshTokenGrant(rp.configuration, offline.refresh_token!);
      expect(refreshed.claims()).toMatchObject({ sub: offline.claims()!.sub, given_name: 'Aino' });
    });

    it('refuses a used (rotated) refresh token and then revokes the whole grant', async () => {
      const rp = await offlineService('Offline reader');
      const tokens = await loginAt(rp);
      const refreshed = await client.refreshTokenGrant(rp.configuration, tokens.refresh_token!);
      expect((await client.tokenIntrospection(rp.configuration, refreshed.access_token)).active).toBe(true);

      // The old token again: someone else holds a copy of it.
      await expect(client.refreshTokenGrant(rp.configuration, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      // Nothing of the grant works any more: neither the rightful successor nor its access token.
      await expect(client.refreshTokenGrant(rp.configuration, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect((await client.tokenIntrospection(rp.configuration, refreshed.access_token)).active).toBe(false);
    });
  });

  describe('account snapshots', () => {
    const snapshot = (accountId: string, given: string): AccountSnapshot => ({
      accountId,
      directoryId: SCHOOL_DIRECTORY_ID,
      claims: { given_name: given } as AccountSnapshot['claims'],
      learnerIdKind: 'national',
      report: [],
      updatedAt: now(),
    });

    it('live as long as the longest grant that reads them; a later login never shortens that', async () => {
      const state = fed.bridge.storage.state('snapshot-lifetimes');
      // When the store will drop the snapshot (epoch seconds, to the second).
      const expiresAt = async (id: string) => {
        const left = await state.secondsLeft(`account:${id}`);
        return left === undefined ? undefined : now() + left;
      };
      const accounts = new AccountStore(state, 60);
      await accounts.save(snapshot('pupil', 'Aino'));
      const afterLogin = (await expiresAt('pupil'))!;
      expect(afterLogin).toBeGreaterThanOrEqual(now() + 59);

      // Read to the second while the clock may turn: within one second of what was asked.
      const near = (value: number | undefined, expected: number) => expect(Math.abs(value! - expected)).toBeLessThanOrEqual(1);
      await accounts.keepUntil('pupil', afterLogin + 3600);
      near(await expiresAt('pupil'), afterLogin + 3600);
      await accounts.keepUntil('pupil', afterLogin + 10);
      near(await expiresAt('pupil'), afterLogin + 3600);
      // A new login updates the claims but keeps the longer lifetime an earlier grant needs.
      await accounts.save(snapshot('pupil', 'Aino-Maria'));
      near(await expiresAt('pupil'), afterLogin + 3600);
      expect((await accounts.find('pupil'))?.claims.given_name).toBe('Aino-Maria');
      // Nothing to keep when the snapshot is gone: a grant never brings one back.
      await accounts.keepUntil('nobody', now() + 3600);
      expect(await accounts.find('nobody')).toBeUndefined();
    });

    it("an offline service's login keeps the snapshot for its refresh tokens, beyond the session", async () => {
      const rp = await offlineService('Offline atlas');
      const agent = new UserAgent('en');
      const before = now();
      await loginAt(rp, agent);
      const { accountId } = (await storedSession(agent))!;
      const left = await fed.bridge.storage.state(`bridge-${fed.bridge.config.environment}`).secondsLeft(`account:${accountId}`);
      expect(now() + left!).toBeGreaterThanOrEqual(before + TTL.refreshTokenSeconds + TTL.authorizationCodeSeconds);
    });
  });

  describe('the resume route /auth/<uid>', () => {
    /** Starts a login and stops at the directory's login form. */
    async function startLogin(rp: RelyingParty, agent: UserAgent) {
      const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
      const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      expect(login.body).toContain('name="username"');
      // /auth sent the browser straight to the directory, with the resume route's cookie for this interaction.
      const resumeCookie = agent.history[0]!.headers.getSetCookie().find((c) => c.includes('_resume='))!;
      const uid = /path=\/auth\/([^;]+)/.exec(resumeCookie)![1]!;
      return { request, login, uid };
    }

    const wentToService = (agent: UserAgent, from = 0) =>
      agent.history.slice(from).some((p) => p.url.startsWith(RP_REDIRECT) || (p.headers.get('location') ?? '').startsWith(RP_REDIRECT));

    it('answers an unknown uid, a missing resume cookie and an expired interaction with a page', async () => {
      const expectExpiredPage = (page: Page) => {
        expectReadablePage(page, 400);
        expect(page.body).toContain('The sign-in session has expired. Start again from the service.');
      };
      const stranger = new UserAgent('en');
      expectExpiredPage(await stranger.navigate(`${fed.bridge.issuer}/auth/${'x'.repeat(21)}`, { stopAt: RP_REDIRECT }));

      const agent = new UserAgent('en');
      const { uid } = await startLogin(fed.rp, agent);
      // Another browser (no resume cookie) at this login's resume URL.
      expectExpiredPage(await stranger.navigate(`${fed.bridge.issuer}/auth/${uid}`, { stopAt: RP_REDIRECT }));
      // The login expired (gone from the store) while the browser still has its cookie.
      await (await provider().Interaction.find(uid))!.destroy();
      const seen = agent.history.length;
      expectExpiredPage(await agent.navigate(`${fed.bridge.issuer}/auth/${uid}`, { stopAt: RP_REDIRECT }));
      expect(wentToService(agent, seen)).toBe(false);
    });

    it('shows a page, and gives the service nothing, when an operator suspends the service during the login', async () => {
      const service = await register('Suspended while signing in');
      const rp = await serviceOf(service);
      const agent = new UserAgent('en');
      const { login } = await startLogin(rp, agent);
      await fed.bridge.bridge.registry.act(service.client_id, 'suspend', OPERATOR.username);
      const page = await signInAtDirectory(agent, login, 'pupil-complete');
      expectReadablePage(page, 400);
      expect(wentToService(agent)).toBe(false);
    });

    it('shows a page when the service is suspended between the login and the resume', async () => {
      const service = await register('Suspended at resume');
      const rp = await serviceOf(service);
      const agent = new UserAgent('en');
      const { login, uid } = await startLogin(rp, agent);
      const atResume = await agent.submit(
        login,
        { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' },
        { stopAt: `${fed.bridge.issuer}/auth/` },
      );
      expect(atResume.url).toBe(`${fed.bridge.issuer}/auth/${uid}`);
      await fed.bridge.bridge.registry.act(service.client_id, 'suspend', OPERATOR.username);
      const page = await agent.navigate(atResume.url, { stopAt: RP_REDIRECT });
      expectReadablePage(page, 400);
      expect(wentToService(agent)).toBe(false);
    });
  });
});
