import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { environmentSubjectSalt, type BridgeSecrets } from '../../src/config/secrets.js';
import { adminCall, startEnvironments, type Environments, type Registered } from '../support/environments.js';
import { RP_CLIENT, RP_REDIRECT, SERVICE_REDIRECT, signInAtDirectory, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { RelyingParty } from '../support/relying-party.js';
import type { DirectoryIdpHandle } from '../support/directory-idp.js';
import { extractForms, UserAgent, type Page } from '../support/user-agent.js';
import { eventually } from '../support/eventually.js';

const REAL_SCHOOL = `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`;

/**
 * The trust model tried from outside, as an attacker would: the test, demo and production
 * environments of one federation share Redis and the registry of services; the school directory
 * (a real OpenID Provider) holds real pupils, and only production offers it.
 */
describe('trust boundaries: services reach pupils only as operators approved', () => {
  let environments: Environments;
  let secrets: BridgeSecrets;
  let directoryIdp: DirectoryIdpHandle;
  let test: Federation;
  let demo: Federation;
  let prod: Federation;
  let logoutReceiver: Server;
  const logoutTokens: string[] = [];
  let refuseLogoutTokens = false;

  beforeAll(async () => {
    logoutReceiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(refuseLogoutTokens ? 503 : 200).end();
      });
    });
    await new Promise<void>((done) => logoutReceiver.listen(0, '127.0.0.1', done));
    const logoutUri = `http://127.0.0.1:${(logoutReceiver.address() as AddressInfo).port}/backchannel`;
    environments = await startEnvironments({
      directoryConfig: { accounts: 'real' },
      test: {
        outbound: { allowLoopback: true },
        clients: [{ ...RP_CLIENT, backchannel_logout_uri: logoutUri, post_logout_redirect_uris: ['http://127.0.0.1:9/logged-out'] }],
      },
    });
    ({ secrets, directoryIdp, test, demo, prod } = environments);
  });

  afterAll(async () => {
    await environments?.stop();
    await new Promise<void>((done) => logoutReceiver?.close(() => done()));
  });

  async function admin(fed: Federation, method: string, path: string, body: unknown = {}) {
    return adminCall(fed, method, path, method === 'GET' ? undefined : body);
  }

  async function register(fed: Federation, metadata: Record<string, unknown>, path = '/reg') {
    const issued = await admin(test, 'POST', '/initial-access-tokens', {});
    const response = await fetch(`${fed.bridge.issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${issued.body.initialAccessToken}` },
      body: JSON.stringify(metadata),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  const metadataOf = (name: string, extra: Record<string, unknown> = {}) => ({ client_name: name, redirect_uris: [SERVICE_REDIRECT], ...extra });

  async function registerService(name: string): Promise<Registered> {
    const out = await register(test, metadataOf(name));
    expect(out.status).toBe(201);
    return out.body as Registered;
  }

  async function approvedService(name: string): Promise<Registered> {
    const service = await registerService(name);
    expect((await admin(prod, 'POST', `/clients/${service.client_id}/approve`)).status).toBe(200);
    return service;
  }

  const rpFor = (fed: Federation, service: Registered, redirectUri = SERVICE_REDIRECT) =>
    RelyingParty.discover({ issuer: fed.bridge.issuer, clientId: service.client_id, clientSecret: service.client_secret, redirectUri });

  /** The authorization request's query for this service, at any spelling of the endpoint. */
  async function authorizationQuery(fed: Federation, service: Registered, extra: Record<string, string> = {}): Promise<string> {
    return (await (await rpFor(fed, service)).authorizationRequest({ acr_values: REAL_SCHOOL, ...extra })).url.search;
  }

  /** The bridge answered with its own page: no redirect anywhere, no session, no 500. */
  function expectRefused(page: Page, status = 400) {
    expect(page.status).toBe(status);
    expect(page.headers.get('location')).toBeNull();
    expect(page.headers.getSetCookie().some((c) => c.includes('_session='))).toBe(false);
  }

  describe('1. the approval gate holds for every spelling, method and endpoint', () => {
    it('a pending service does not exist at production: /auth in every spelling, HEAD, POST, PAR, token', async () => {
      const service = await registerService('Pending redirector');
      const query = await authorizationQuery(prod, service);
      for (const path of ['/auth', '/AUTH', '/Auth', '/auth/', '/AUTH/']) {
        const agent = new UserAgent('en');
        const page = await agent.request(`${prod.bridge.issuer}${path}${query}`);
        expectRefused(page);
        expect(page.body).toContain('sign-in request was not valid');
      }
      expect(prod.bridge.logs.filter((l) => l.msg === 'oidc error page' && l.error === 'invalid_client').length).toBeGreaterThanOrEqual(5);
      const head = await fetch(`${prod.bridge.issuer}/auth${query}`, { method: 'HEAD', redirect: 'manual' });
      expect(head.status).toBe(400);
      expect(head.headers.get('location')).toBeNull();
      for (const path of ['/auth', '/AUTH/']) {
        const posted = await new UserAgent('en').request(`${prod.bridge.issuer}${path}`, { form: Object.fromEntries(new URLSearchParams(query)) });
        expectRefused(posted);
      }
      // Pushed authorization requests and the token endpoint refuse its credentials.
      const basic = `Basic ${Buffer.from(`${service.client_id}:${service.client_secret}`).toString('base64')}`;
      const par = await fetch(`${prod.bridge.issuer}/request`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: service.client_id,
          response_type: 'code',
          scope: 'openid',
          redirect_uri: SERVICE_REDIRECT,
          code_challenge: 'x'.repeat(43),
          code_challenge_method: 'S256',
        }),
      });
      expect(par.status).toBe(401);
      expect(((await par.json()) as { error: string }).error).toBe('invalid_client');
      const token = await fetch(`${prod.bridge.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: SERVICE_REDIRECT, code_verifier: 'x'.repeat(43) }),
      });
      expect(token.status).toBe(401);
      // Nothing was logged as a server error.
      expect(prod.bridge.logs.some((l) => l.level === 50)).toBe(false);
    });

    it('a service suspended while its user is at the school directory gets no code: the resume route shows a page', async () => {
      const service = await approvedService('Suspended mid-login');
      const rp = await rpFor(prod, service);
      const agent = new UserAgent('en');
      const request = await rp.authorizationRequest({ acr_values: REAL_SCHOOL });
      const atDirectory = await agent.navigate(request.url.href, { stopAt: SERVICE_REDIRECT });
      expect(atDirectory.url.startsWith(directoryIdp.issuer)).toBe(true);
      expect((await admin(prod, 'POST', `/clients/${service.client_id}/suspend`, { reason: 'incident' })).status).toBe(200);
      const done = await signInAtDirectory(agent, atDirectory, 'pupil-complete', SERVICE_REDIRECT);
      expect(done.url.startsWith(SERVICE_REDIRECT)).toBe(false);
      expect(done.status).toBe(400);
      expect(agent.history.some((p) => (p.headers.get('location') ?? '').startsWith(SERVICE_REDIRECT))).toBe(false);
      expect(agent.history.some((p) => p.status >= 500)).toBe(false);
      // An unknown interaction at the resume route is a page too, never a 500.
      const unknown = await agent.request(`${prod.bridge.issuer}/auth/${'x'.repeat(21)}`);
      expect(unknown.status).toBeGreaterThanOrEqual(400);
      expect(unknown.status).toBeLessThan(500);
    });

    it('every spelling of /reg creates a lifecycle record; every deletion ends it', async () => {
      for (const path of ['/reg', '/REG', '/reg/', '/Reg/']) {
        const out = await register(prod, metadataOf(`Registered at ${path}`), path);
        expect(out.status).toBe(201);
        const listed = await admin(prod, 'GET', `/clients/${out.body.client_id}`);
        expect(listed.status).toBe(200);
        expect(listed.body.state).toBe('pending');
        const audit = await admin(prod, 'GET', `/audit?clientId=${out.body.client_id}`);
        expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(['register']);
      }
      const service = (await register(prod, metadataOf('Deleted at /REG'))).body as Registered;
      const deleted = await fetch(`${prod.bridge.issuer}/REG/${service.client_id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${service.registration_access_token}` },
      });
      expect(deleted.status).toBe(204);
      expect((await admin(prod, 'POST', `/clients/${service.client_id}/approve`)).status).toBe(404);
      const listed = await admin(prod, 'GET', '/clients');
      expect(listed.body.clients.map((c: { clientId: string }) => c.clientId)).not.toContain(service.client_id);
      const audit = await admin(prod, 'GET', `/audit?clientId=${service.client_id}`);
      expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(['register', 'delete-registration']);
    });
  });

  describe('2. real pupils only in production, only to approved services', () => {
    it('a pending service at the test environment is offered no real school, even when it names one', async () => {
      const service = await registerService('Curious');
      const agent = new UserAgent('en');
      const rp = await rpFor(test, service);
      const page = await agent.navigate((await rp.authorizationRequest({ acr_values: REAL_SCHOOL })).url.href, { stopAt: SERVICE_REDIRECT });
      expect(page.url.startsWith(directoryIdp.issuer)).toBe(false);
      expect(page.body).not.toContain('Koulu A');
      expect(page.body).not.toContain(`/login/${SCHOOL_DIRECTORY_ID}`);
      const direct = await agent.request(`${page.url}/login/${SCHOOL_DIRECTORY_ID}`);
      expect(direct.status).toBe(404);
      // The test directory is there, and its test users sign in.
      expect(page.body).toContain('/login/test-school');
    });

    it('the demo environment offers no real school to a service published to demo', async () => {
      const service = await registerService('Demo curious');
      expect((await admin(demo, 'POST', `/clients/${service.client_id}/publish-to-demo`)).status).toBe(200);
      const agent = new UserAgent('en');
      const rp = await rpFor(demo, service);
      const page = await agent.navigate((await rp.authorizationRequest({ acr_values: REAL_SCHOOL })).url.href, { stopAt: SERVICE_REDIRECT });
      expect(page.url.startsWith(directoryIdp.issuer)).toBe(false);
      expect(page.body).not.toContain(`/login/${SCHOOL_DIRECTORY_ID}`);
    });

    it('derives subjects from a salt of each environment', () => {
      const salts = ['test', 'demo', 'production'].map((e) => environmentSubjectSalt(secrets.subjectSalt, e));
      expect(new Set(salts).size).toBe(3);
      expect(salts).not.toContain(secrets.subjectSalt);
    });
  });

  describe('3. an approved service cannot change itself unreviewed', () => {
    async function update(endpoint: string, rat: string, metadata: Record<string, unknown>) {
      const response = await fetch(endpoint, {
        method: 'PUT',
        headers: { authorization: `Bearer ${rat}`, 'content-type': 'application/json' },
        body: JSON.stringify(metadata),
      });
      return { status: response.status, pending: response.headers.get('mpassid-change-pending-review'), body: (await response.json()) as Record<string, any> };
    }

    it("holds a change of names and redirect URIs for review through every environment's endpoint", async () => {
      const service = await approvedService('Honest service');
      let rat = service.registration_access_token;
      const base = { client_id: service.client_id, client_secret: service.client_secret };
      for (const fed of [test, demo, prod]) {
        const endpoint = `${fed.bridge.issuer}/reg/${service.client_id}`;
        const out = await update(endpoint, rat, { ...base, client_name: 'Wilma – virallinen kirjautuminen', redirect_uris: ['https://evil.example/cb'] });
        expect(out.status).toBe(200);
        expect(out.pending).toBe('client_name, redirect_uris');
        // The approved version stays in force.
        expect(out.body.client_name).toBe('Honest service');
        expect(out.body.redirect_uris).toEqual([SERVICE_REDIRECT]);
        rat = out.body.registration_access_token as string;
        // Production's rules judge it, whichever endpoint: no http loopback redirect URIs.
        const loopback = await update(endpoint, rat, { ...base, client_name: 'Honest service', redirect_uris: ['http://127.0.0.1:8080/cb'] });
        expect(loopback.status).toBe(400);
        expect(loopback.body.error).toBe('invalid_redirect_uri');
      }
      // Production issues no code to the proposed host.
      const evil = await new UserAgent('en').request(
        `${prod.bridge.issuer}/auth${await authorizationQuery(prod, service, { redirect_uri: 'https://evil.example/cb' })}`,
      );
      expectRefused(evil);

      const shown = await admin(prod, 'GET', `/clients/${service.client_id}`);
      expect(shown.body.pendingChange.proposed).toEqual({ client_name: 'Wilma – virallinen kirjautuminen', redirect_uris: ['https://evil.example/cb'] });
      const audit = await admin(prod, 'GET', `/audit?clientId=${service.client_id}`);
      const actions = audit.body.entries.map((e: { action: string }) => e.action);
      expect(actions.filter((a: string) => a === 'propose-change')).toHaveLength(3);
      expect(JSON.stringify(audit.body.entries)).not.toContain(service.client_secret);

      // A change that is not reviewed applies at once, and is audited with a diff.
      const contacts = await update(`${prod.bridge.issuer}/reg/${service.client_id}`, rat, {
        ...base,
        client_name: 'Honest service',
        redirect_uris: [SERVICE_REDIRECT],
        contacts: ['privacy@honest.example'],
      });
      expect(contacts.status).toBe(200);
      expect(contacts.pending).toBeNull();
      const afterContacts = await admin(prod, 'GET', `/audit?clientId=${service.client_id}`);
      expect(afterContacts.body.entries.at(-1)).toMatchObject({
        action: 'update-metadata',
        operator: 'service',
        detail: { changes: { contacts: { to: ['privacy@honest.example'] } } },
      });

      // The operator rejects the held change; the next proposal is approved and takes effect.
      expect((await admin(prod, 'POST', `/clients/${service.client_id}/change/reject`, { reason: 'impersonation' })).status).toBe(200);
      const proposed = await update(`${prod.bridge.issuer}/reg/${service.client_id}`, contacts.body.registration_access_token, {
        ...base,
        client_name: 'Honest service 2',
        redirect_uris: [SERVICE_REDIRECT, 'https://service.example/other'],
      });
      expect(proposed.pending).toBe('client_name, redirect_uris');
      const approved = await admin(prod, 'POST', `/clients/${service.client_id}/change/approve`, {});
      expect(approved.status).toBe(200);
      expect(approved.body.detail.changes.client_name).toEqual({ from: 'Honest service', to: 'Honest service 2' });
      expect((await admin(prod, 'GET', `/clients/${service.client_id}`)).body.metadata.redirect_uris).toEqual([
        SERVICE_REDIRECT,
        'https://service.example/other',
      ]);
      const other = await new UserAgent('en').navigate(
        `${prod.bridge.issuer}/auth${await authorizationQuery(prod, service, { redirect_uri: 'https://service.example/other' })}`,
        { stopAt: 'https://service.example/other' },
      );
      expect(other.url.startsWith(directoryIdp.issuer)).toBe(true);
    });

    it('a service cannot take a public subject, nor a redirect URI that does not mean what it shows', async () => {
      for (const subject of [{ subject_type: 'public' }]) {
        const out = await register(test, metadataOf('Correlator', subject));
        expect(out.status).toBe(400);
        expect(out.body.error).toBe('invalid_client_metadata');
        expect(out.body.error_description).toContain('operators');
      }
      const service = await registerService('Switcher');
      const switched = await update(service.registration_client_uri, service.registration_access_token, {
        client_id: service.client_id,
        client_secret: service.client_secret,
        ...metadataOf('Switcher', { subject_type: 'public' }),
      });
      expect(switched.status).toBe(400);
      // Operators may grant it.
      expect((await admin(prod, 'PATCH', `/clients/${service.client_id}/settings`, { publicSubject: true })).status).toBe(200);
      const granted = await update(service.registration_client_uri, service.registration_access_token, {
        client_id: service.client_id,
        client_secret: service.client_secret,
        ...metadataOf('Switcher', { subject_type: 'public' }),
      });
      expect(granted.status).toBe(200);
      expect(granted.body.subject_type).toBe('public');

      for (const uri of [
        'https://evil.example\\@rp.example/cb',
        'https://RP.example/cb',
        'https://rp.example/c b',
        'https://rp.example/cb\u202e',
        'https://user@rp.example/cb',
      ]) {
        const out = await register(test, metadataOf('Misleading', { redirect_uris: [uri] }));
        expect(out.status).toBe(400);
        expect(out.body.error).toBe('invalid_redirect_uri');
      }
    });
  });

  describe('attacks that already hold stay held', () => {
    it('a service name with markup is shown as text, on framing-proof pages', async () => {
      const service = (await register(test, metadataOf('<script>alert(1)</script><img src=x onerror=alert(2)>'))).body as Registered;
      const agent = new UserAgent('en');
      const chooser = await agent.navigate((await (await rpFor(test, service)).authorizationRequest()).url.href, { stopAt: SERVICE_REDIRECT });
      expect(chooser.status).toBe(200);
      expect(chooser.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(chooser.body).not.toContain('<script>alert');
      expect(chooser.body).not.toContain('<img src=x');
      for (const page of [chooser, await agent.request(`${prod.bridge.issuer}/AUTH?client_id=${service.client_id}`)]) {
        expect(page.headers.get('x-frame-options')).toBe('DENY');
        expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
        expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      }
    });
  });

  describe('8. standard endpoints', () => {
    it('accepts the authorization request as a POST (OIDC Core 3.1.2.1)', async () => {
      const rp = await RelyingParty.discover({
        issuer: test.bridge.issuer,
        clientId: RP_CLIENT.client_id,
        clientSecret: RP_CLIENT.client_secret,
        redirectUri: RP_REDIRECT,
      });
      const request = await rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:test-school' });
      const agent = new UserAgent('en');
      const login = await agent.postForm(`${test.bridge.issuer}/auth`, Object.fromEntries(request.url.searchParams), { stopAt: RP_REDIRECT });
      const done = await signInAtDirectory(agent, login, 'pupil-complete');
      const tokens = await rp.redeem(done.url, request);
      expect(tokens.claims()!.given_name).toBe('Aino');
      // A form of another kind is refused with a reason.
      const json = await fetch(`${test.bridge.issuer}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(json.status).toBe(415);
    });

    it('delivers back-channel logout where a non-production setting allows loopback; logs a failed delivery; refuses URIs it could never deliver to', async () => {
      const rp = await RelyingParty.discover({
        issuer: test.bridge.issuer,
        clientId: RP_CLIENT.client_id,
        clientSecret: RP_CLIENT.client_secret,
        redirectUri: RP_REDIRECT,
      });
      /** Signs in and out again; resolves once the logout token reached the service. */
      async function signInAndOut(): Promise<void> {
        const request = await rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:test-school' });
        const agent = new UserAgent('en');
        const done = await signInAtDirectory(agent, await agent.navigate(request.url.href, { stopAt: RP_REDIRECT }), 'pupil-complete');
        const tokens = await rp.redeem(done.url, request);
        const logout = await agent.navigate(
          `${test.bridge.issuer}/session/end?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/logged-out' })}`,
          { stopAt: 'http://127.0.0.1:9/' },
        );
        expect(extractForms(logout)).not.toHaveLength(0);
        const before = logoutTokens.length;
        await agent.submit(logout, { logout: 'yes' }, { stopAt: 'http://127.0.0.1:9/' });
        await eventually(() => logoutTokens.length > before, { what: 'the logout token reaching the service' });
        expect(logoutTokens.length).toBe(before + 1);
      }
      await signInAndOut();
      const claims = JSON.parse(Buffer.from(logoutTokens.at(-1)!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      expect(claims.aud).toBe(RP_CLIENT.client_id);
      expect(claims.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });

      refuseLogoutTokens = true;
      await signInAndOut();
      refuseLogoutTokens = false;
      const failureLogged = () => test.bridge.logs.find((l) => l.msg === 'back-channel logout not delivered');
      const failure = await eventually(failureLogged, { what: 'the failed delivery being logged' });
      expect(failure).toMatchObject({ level: 40, clientId: RP_CLIENT.client_id, err: { type: 'Error', message: expect.stringContaining('503') } });

      for (const uri of ['http://service.example/bc', 'https://10.1.2.3/bc', 'https://[::1]/bc', 'https://localhost/bc']) {
        const out = await register(prod, metadataOf('Logout', { backchannel_logout_uri: uri }));
        expect(out.status).toBe(400);
        expect(out.body.error_description).toContain('backchannel_logout_uri');
      }
      expect((await register(prod, metadataOf('Logout', { backchannel_logout_uri: 'https://service.example/bc' }))).status).toBe(201);
    });
  });
});
