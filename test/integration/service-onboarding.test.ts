import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runAdminCli } from '../support/admin-cli.js';
import { CLAIM } from '../../src/claims/claim-names.js';
import {
  CLIENT_REFUSED,
  RP_CLIENT,
  SERVICE_REDIRECT,
  signInAtDirectory,
  startFederation,
  SCHOOL_DIRECTORY_ID,
  type Federation,
} from '../support/federation.js';
import { RelyingParty } from '../support/relying-party.js';
import { adminCall, basicAuth as basic, OPERATOR, OPERATOR_AUTH, startEnvironments, type Environments, type Registered } from '../support/environments.js';
import { UserAgent } from '../support/user-agent.js';
import { epochSeconds, untilClockPasses, untilClockPassesInstant } from '../support/eventually.js';

/** Three bridges of one federation sharing Redis and secrets: the test, demo and production environments. */
describe('service onboarding: registration, review, environments, suspension, audit', () => {
  let environments: Environments;
  let test: Federation;
  let demo: Federation;
  let prod: Federation;

  beforeAll(async () => {
    environments = await startEnvironments();
    ({ test, demo, prod } = environments);
  });

  afterAll(async () => {
    await environments?.stop();
  });

  const admin = adminCall;

  async function issueTokenWithExpiry(options: { expiresInSeconds?: number; uses?: number } = {}): Promise<{ token: string; expiresAt: string }> {
    const out = await admin(test, 'POST', '/initial-access-tokens', options);
    expect(out.status).toBe(201);
    return { token: out.body.initialAccessToken as string, expiresAt: out.body.expiresAt as string };
  }

  const issueToken = async (options: { expiresInSeconds?: number; uses?: number } = {}): Promise<string> => (await issueTokenWithExpiry(options)).token;

  async function register(fed: Federation, token: string | undefined, metadata: Record<string, unknown>) {
    const response = await fetch(`${fed.bridge.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(metadata),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  const serviceMetadata = (name: string) => ({
    client_name: name,
    redirect_uris: [SERVICE_REDIRECT],
    service_description: `${name}: an exercise book for pupils`,
    contacts: ['support@learning.example'],
  });

  async function registerService(name: string): Promise<Registered> {
    const out = await register(test, await issueToken(), serviceMetadata(name));
    expect(out.status).toBe(201);
    return out.body as Registered;
  }

  const rpFor = (fed: Federation, service: Registered) =>
    RelyingParty.discover({ issuer: fed.bridge.issuer, clientId: service.client_id, clientSecret: service.client_secret, redirectUri: SERVICE_REDIRECT });

  /** A whole login at `fed` through the real directoryIdp; a fresh browser each time (cookies are per host, not per port). */
  async function login(fed: Federation, service: Registered, username = 'pupil-complete') {
    const rp = await rpFor(fed, service);
    const agent = new UserAgent('en');
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const page = await agent.navigate(request.url.href, { stopAt: SERVICE_REDIRECT });
    if (!page.body.includes('name="username"')) return { refused: page, agent };
    const done = await signInAtDirectory(agent, page, username, SERVICE_REDIRECT);
    expect(done.url.startsWith(SERVICE_REDIRECT)).toBe(true);
    return { rp, request, callback: done.url, agent };
  }

  /** The bridge answered with its own error page and never sent the browser to the service. */
  function expectRefusedPage(result: Awaited<ReturnType<typeof login>>) {
    expect(result.refused).toBeDefined();
    expect(result.refused!.status).toBe(400);
    expect(result.refused!.headers.get('content-type')).toContain('text/html');
    expect(result.agent.history.some((p) => p.url.startsWith(SERVICE_REDIRECT) || (p.headers.get('location') ?? '').startsWith(SERVICE_REDIRECT))).toBe(false);
  }

  describe('registration (RFC 7591)', () => {
    it('requires an initial access token issued by an operator', async () => {
      expect((await register(test, undefined, serviceMetadata('No token'))).status).toBe(401);
      const wrong = await register(test, 'not-a-token', serviceMetadata('Bad token'));
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_token');
      // Only operators issue tokens.
      expect((await admin(test, 'POST', '/initial-access-tokens', {}, basic(OPERATOR.username, 'wrong-password'))).status).toBe(401);
      expect((await admin(test, 'POST', '/initial-access-tokens', {}, basic('someone', OPERATOR.password))).status).toBe(401);
    });

    it('registers with a valid token, refuses its second use and an expired token', async () => {
      const token = await issueToken();
      const first = await register(test, token, serviceMetadata('Once'));
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ client_name: 'Once', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code'] });
      expect(first.body.client_secret).toEqual(expect.any(String));
      expect(first.body.service_description).toBe('Once: an exercise book for pupils');
      const again = await register(test, token, serviceMetadata('Twice'));
      expect(again.status).toBe(401);
      expect(again.body.error).toBe('invalid_token');

      const multi = await issueToken({ uses: 2 });
      expect((await register(test, multi, serviceMetadata('Multi 1'))).status).toBe(201);
      expect((await register(test, multi, serviceMetadata('Multi 2'))).status).toBe(201);
      expect((await register(test, multi, serviceMetadata('Multi 3'))).status).toBe(401);

      const short = await issueTokenWithExpiry({ expiresInSeconds: 1 });
      // Unused until the moment the bridge said it expires.
      await untilClockPassesInstant(short.expiresAt);
      const expired = await register(test, short.token, serviceMetadata('Late'));
      expect(expired.status).toBe(401);
      expect(expired.body.error).toBe('invalid_token');
    });

    it('refuses metadata against the policy with a readable RFC 7591 error', async () => {
      const token = await issueToken({ uses: 5 });
      const cases: Array<[string, Federation, Record<string, unknown>, string, RegExp]> = [
        ['fragment', test, { redirect_uris: ['https://learning.example/cb#x'] }, 'invalid_redirect_uri', /fragment/],
        ['wildcard', test, { redirect_uris: ['https://*.learning.example/cb'] }, 'invalid_redirect_uri', /wildcard/],
        ['userinfo part', test, { redirect_uris: ['https://user:pw@learning.example/cb'] }, 'invalid_redirect_uri', /user name or password/],
        ['http outside loopback', test, { redirect_uris: ['http://learning.example/cb'] }, 'invalid_redirect_uri', /https/],
        [
          'http loopback outside the test environment',
          prod,
          { redirect_uris: ['http://127.0.0.1:9/callback'] },
          'invalid_redirect_uri',
          /https in the production environment/,
        ],
        [
          'logo on another host',
          test,
          { redirect_uris: ['https://learning.example/cb'], logo_uri: 'https://cdn.elsewhere.example/logo.png' },
          'invalid_client_metadata',
          /logo_uri must be on a host of a redirect URI/,
        ],
        ['missing name', test, { client_name: undefined }, 'invalid_client_metadata', /client_name is required/],
        ['operator field', test, { mpassid_status: 'approved' }, 'invalid_client_metadata', /mpassid_status is set by the MPASSid operators/],
        ['operator setting', test, { allowTestLearnerIds: true }, 'invalid_client_metadata', /allowTestLearnerIds is set by the MPASSid operators/],
        ['refresh tokens', test, { grant_types: ['authorization_code', 'refresh_token'] }, 'invalid_client_metadata', /refresh_token is not allowed/],
        ['none for a web client', test, { token_endpoint_auth_method: 'none' }, 'invalid_client_metadata', /only for native apps/],
        [
          'native app with an https redirect',
          test,
          { application_type: 'native', redirect_uris: ['https://learning.example/cb'] },
          'invalid_redirect_uri',
          /private-use scheme/,
        ],
      ];
      for (const [label, fed, change, error, description] of cases) {
        const out = await register(fed, token, { ...serviceMetadata(`Policy ${label}`), ...change });
        expect({ label, status: out.status, error: out.body.error }).toEqual({ label, status: 400, error });
        expect(out.body.error_description).toMatch(description);
      }
      // None of the refusals spent a use of the token.
      expect((await register(test, token, serviceMetadata('Valid after refusals'))).status).toBe(201);
    });

    it('registers a native app as a public client with a private-use scheme or a loopback redirect', async () => {
      const token = await issueToken({ uses: 2 });
      for (const redirect of ['fi.learning.reader:/callback', 'http://127.0.0.1/callback']) {
        const out = await register(test, token, { client_name: 'Native reader', application_type: 'native', redirect_uris: [redirect] });
        expect(out.body.error_description).toBeUndefined();
        expect(out.status).toBe(201);
        expect(out.body.token_endpoint_auth_method).toBe('none');
        expect(out.body.client_secret).toBeUndefined();
      }
      const confidential = await register(test, token, {
        client_name: 'Native reader',
        application_type: 'native',
        redirect_uris: ['fi.learning.reader:/callback'],
        token_endpoint_auth_method: 'client_secret_basic',
      });
      expect(confidential.status).toBe(400);
      expect(confidential.body.error_description).toMatch(/public client/);
    });
  });

  describe('registration management (RFC 7592)', () => {
    it('reads, updates and deletes only with the current registration access token', async () => {
      const service = await registerService('Managed');
      const uri = service.registration_client_uri;
      const call = (method: string, token: string, body?: unknown) =>
        fetch(uri, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });

      expect((await call('GET', 'wrong-token')).status).toBe(401);
      const read = await call('GET', service.registration_access_token);
      expect(read.status).toBe(200);
      const current = (await read.json()) as Record<string, any>;
      const token = (current.registration_access_token as string | undefined) ?? service.registration_access_token;
      expect(current.client_name).toBe('Managed');

      const { registration_access_token: _t, registration_client_uri: _u, client_id_issued_at: _i, client_secret_expires_at: _e, ...metadata } = current;
      // Operator fields are refused in an update too.
      const sneaky = await call('PUT', token, { ...metadata, mpassid_approved: true });
      expect(sneaky.status).toBe(400);
      expect(((await sneaky.json()) as Record<string, unknown>).error).toBe('invalid_client_metadata');

      const updated = await call('PUT', token, { ...metadata, client_name: 'Managed v2' });
      expect(updated.status).toBe(200);
      const after = (await updated.json()) as Record<string, any>;
      expect(after.client_name).toBe('Managed v2');
      // Rotated: the old token no longer works, the new one does.
      expect(after.registration_access_token).toEqual(expect.any(String));
      expect(after.registration_access_token).not.toBe(token);
      expect((await call('GET', token)).status).toBe(401);
      expect((await call('DELETE', token)).status).toBe(401);
      const newToken = after.registration_access_token as string;

      // Refresh tokens are refused unless an operator allowed them.
      const refused = await call('PUT', newToken, { ...metadata, client_name: 'Managed v2', grant_types: ['authorization_code', 'refresh_token'] });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as Record<string, unknown>).error_description).toMatch(/refresh_token is not allowed/);

      expect((await call('DELETE', 'wrong-token')).status).toBe(401);
      expect((await call('DELETE', newToken)).status).toBe(204);
      expect((await call('GET', newToken)).status).toBe(401);
    });
  });

  describe('environments and review', () => {
    let service: Registered;
    beforeAll(async () => {
      service = await registerService('Exercise book');
    });

    it('lets a newly registered service sign in at the test environment', async () => {
      const result = await login(test, service);
      const tokens = await result.rp!.redeem(result.callback!, result.request!);
      expect(tokens.claims()!.given_name).toBe('Aino');
    });

    it('lists it as pending for the operators, without its secret', async () => {
      const list = await admin(test, 'GET', '/clients?state=pending');
      expect(list.status).toBe(200);
      expect(list.type).toContain('application/json');
      expect(list.body.clients.map((c: { clientId: string }) => c.clientId)).toContain(service.client_id);
      const shown = await admin(prod, 'GET', `/clients/${service.client_id}`);
      expect(shown.status).toBe(200);
      expect(shown.body).toMatchObject({ state: 'pending', metadata: { client_name: 'Exercise book', contacts: ['support@learning.example'] } });
      expect(JSON.stringify(shown.body)).not.toContain(service.client_secret);
    });

    it('refuses it at the production environment (error page, no redirect) until an operator approves it', async () => {
      expectRefusedPage(await login(prod, service));
      const approved = await admin(prod, 'POST', `/clients/${service.client_id}/approve`, { reason: 'reviewed' });
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ action: 'approve', before: { status: 'pending' }, after: { status: 'approved' } });
      const result = await login(prod, service);
      const tokens = await result.rp!.redeem(result.callback!, result.request!);
      expect(tokens.claims()!.given_name).toBe('Aino');
      // Environments share the registry of services, not their tokens: a token of the test
      // environment is nothing at production, and the other way round.
      const fromTest = await login(test, service);
      const testTokens = await fromTest.rp!.redeem(fromTest.callback!, fromTest.request!);
      await expect(result.rp!.userinfo(testTokens.access_token, testTokens.claims()!.sub)).rejects.toThrow();
      await expect(fromTest.rp!.userinfo(tokens.access_token, tokens.claims()!.sub)).rejects.toThrow();
      // An action that makes no sense is refused, with a reason.
      const again = await admin(prod, 'POST', `/clients/${service.client_id}/approve`, {});
      expect(again.status).toBe(409);
      expect(again.body.error_description).toContain('already approved');
    });

    it('serves it at the demo environment only once published to demo', async () => {
      expectRefusedPage(await login(demo, service));
      expect((await admin(test, 'POST', `/clients/${service.client_id}/publish-to-demo`, {})).status).toBe(200);
      const result = await login(demo, service);
      expect((await result.rp!.redeem(result.callback!, result.request!)).claims()!.given_name).toBe('Aino');
    });

    it('releases only the claims the operators allow', async () => {
      const changed = await admin(test, 'PATCH', `/clients/${service.client_id}/settings`, { releasedClaims: ['given_name', CLAIM.schoolCode] });
      expect(changed.status).toBe(200);
      const result = await login(prod, service);
      const tokens = await result.rp!.redeem(result.callback!, result.request!);
      const claims = tokens.claims()!;
      expect(claims.given_name).toBe('Aino');
      expect(claims[CLAIM.schoolCode]).toEqual(['30076']);
      expect(claims.family_name).toBeUndefined();
      expect(claims[CLAIM.learnerId]).toBeUndefined();
      const userinfo = (await result.rp!.userinfo(tokens.access_token, claims.sub)) as Record<string, unknown>;
      expect(Object.keys(userinfo).sort()).toEqual(['given_name', 'sub', CLAIM.schoolCode].sort());
      // Back to every claim.
      expect((await admin(test, 'PATCH', `/clients/${service.client_id}/settings`, { releasedClaims: null })).status).toBe(200);
    });
  });

  describe('suspension, through the command line', () => {
    const cli = (...args: string[]) => runAdminCli({ url: prod.bridge.issuer, user: OPERATOR.username, password: OPERATOR.password }, args);

    const introspect = async (fed: Federation, token: string) => {
      const response = await fetch(`${fed.bridge.issuer}/token/introspection`, {
        method: 'POST',
        headers: { authorization: basic(RP_CLIENT.client_id, RP_CLIENT.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });
      return (await response.json()) as Record<string, unknown>;
    };
    const userinfoStatus = async (fed: Federation, token: string) =>
      (await fetch(`${fed.bridge.issuer}/me`, { headers: { authorization: `Bearer ${token}` } })).status;

    it('approves, suspends and reinstates a service; a suspended service loses its tokens and logins', async () => {
      const service = await registerService('Quiz');
      const approved = await cli('approve', service.client_id, '--reason', 'checked');
      expect(approved.stderr).toBe('');
      expect(approved.code).toBe(0);
      expect(approved.stdout).toContain('approve done');
      expect(approved.stdout).toMatch(/before: pending.*\n.*after: {2}approved/);

      const result = await login(prod, service);
      const tokens = await result.rp!.redeem(result.callback!, result.request!);
      expect(await userinfoStatus(prod, tokens.access_token)).toBe(200);
      expect(await introspect(prod, tokens.access_token)).toMatchObject({ active: true, client_id: service.client_id });
      // A code issued before the suspension is not redeemable after it.
      const pending = await login(prod, service, 'teacher');

      const suspended = await cli('suspend', service.client_id, '--reason', 'incident 42');
      expect(suspended.code).toBe(0);
      // The suspension revokes what was issued up to its whole second, at the latest this one.
      const suspendedBy = epochSeconds();
      expect(await userinfoStatus(prod, tokens.access_token)).toBe(401);
      expect(await introspect(prod, tokens.access_token)).toEqual({ active: false });
      expectRefusedPage(await login(prod, service));
      expectRefusedPage(await login(test, service));
      // A suspended service does not exist for the provider: its client authentication fails.
      await expect(pending.rp!.redeem(pending.callback!, pending.request!)).rejects.toMatchObject(CLIENT_REFUSED);

      const listed = await cli('list', '--state', 'suspended');
      expect(listed.stdout).toContain(service.client_id);

      expect((await cli('reinstate', service.client_id)).code).toBe(0);
      // The suspension revoked what the service held: reinstating does not bring those tokens back.
      expect(await userinfoStatus(prod, tokens.access_token)).toBe(401);
      expect(await introspect(prod, tokens.access_token)).toEqual({ active: false });
      await expect(pending.rp!.redeem(pending.callback!, pending.request!)).rejects.toMatchObject({ error: 'invalid_grant' });
      // Tokens carry whole seconds: a login in a second after the suspension's is new.
      await untilClockPasses(suspendedBy);
      const again = await login(prod, service);
      expect((await again.rp!.redeem(again.callback!, again.request!)).claims()!.given_name).toBe('Aino');

      const audit = await cli('audit', '--client', service.client_id);
      expect(
        audit.stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(/\s+/)[2]),
      ).toEqual(['register', 'approve', 'suspend', 'reinstate']);
    });

    it('fails with a clear message and a non-zero exit', async () => {
      const unknown = await cli('approve', 'no-such-client');
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain('HTTP 404');
      const badCommand = await cli('frobnicate');
      expect(badCommand.code).not.toBe(0);
      expect(badCommand.stderr).toContain('unknown command');
    });
  });

  describe('admin API and audit log', () => {
    it('records every operator action with who, when and before → after', async () => {
      const service = await registerService('Audited');
      await admin(test, 'POST', `/clients/${service.client_id}/reject`, { reason: 'no privacy policy' });
      await admin(test, 'POST', `/clients/${service.client_id}/approve`, {});
      await admin(test, 'PATCH', `/clients/${service.client_id}/settings`, { allowTestLearnerIds: true });
      const log = await admin(demo, 'GET', `/audit?clientId=${service.client_id}`);
      expect(log.status).toBe(200);
      expect(log.body.entries).toEqual([
        expect.objectContaining({ operator: 'service', action: 'register', clientId: service.client_id, detail: { via: 'test' } }),
        expect.objectContaining({
          operator: 'operator',
          action: 'reject',
          reason: 'no privacy policy',
          before: expect.objectContaining({ status: 'pending' }),
          after: expect.objectContaining({ status: 'rejected' }),
        }),
        expect.objectContaining({
          action: 'approve',
          before: expect.objectContaining({ status: 'rejected' }),
          after: expect.objectContaining({ status: 'approved' }),
        }),
        expect.objectContaining({
          action: 'update-settings',
          before: expect.objectContaining({ settings: expect.objectContaining({ allowTestLearnerIds: false }) }),
          after: expect.objectContaining({ settings: expect.objectContaining({ allowTestLearnerIds: true }) }),
        }),
      ]);
      for (const entry of log.body.entries) expect(Date.parse(entry.at)).not.toBeNaN();
      const all = await admin(test, 'GET', '/audit');
      expect(all.body.entries.some((e: { action: string }) => e.action === 'issue-initial-access-token')).toBe(true);
      const shown = await admin(test, 'GET', `/clients/${service.client_id}`);
      expect(shown.body.history.map((h: { action: string }) => h.action)).toEqual(['reject', 'approve', 'update-settings']);
    });

    it('validates requests and answers errors as JSON', async () => {
      const bad = await admin(test, 'POST', '/initial-access-tokens', { uses: 0 });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('uses') });
      const unknownClaim = await admin(test, 'PATCH', '/clients/x/settings', { releasedClaims: ['email'] });
      expect(unknownClaim.status).toBe(400);
      expect(unknownClaim.body.error_description).toContain('releasedClaims');
      const unknownField = await admin(test, 'PATCH', '/clients/x/settings', { colour: 'blue' });
      expect(unknownField.status).toBe(400);
      const noSuch = await admin(test, 'GET', '/clients/no-such-client');
      expect(noSuch.status).toBe(404);
      expect(noSuch.type).toContain('application/json');
      const html = await fetch(`${test.bridge.issuer}/admin/api/nowhere`, { headers: { accept: 'text/html', authorization: OPERATOR_AUTH } });
      expect(html.status).toBe(404);
      expect(html.headers.get('content-type')).toContain('application/json');
    });
  });
});

describe('admin API without operators', () => {
  it('is disabled', async () => {
    const fed = await startFederation();
    try {
      const response = await fetch(`${fed.bridge.issuer}/admin/api/clients`, { headers: { accept: 'text/html' } });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(((await response.json()) as Record<string, unknown>).error_description).toContain('disabled');
    } finally {
      await fed.stop();
    }
  });
});

describe('environment of the deployment', () => {
  it('defaults to test, is not implied by NODE_ENV, and refuses the test directory in production', async () => {
    const { configSchema } = await import('../../src/config/schema.js');
    const { parseConfig, ConfigError } = await import('../../src/config/load.js');
    expect(configSchema.parse({}).environment).toBe('test');
    expect(configSchema.parse({ env: 'production' }).environment).toBe('test');
    expect(() => parseConfig({ environment: 'production' })).toThrow(ConfigError);
    expect(() => parseConfig({ environment: 'production' })).toThrow(
      /testDirectory.enabled: the bundled test directory is not allowed in the production environment/,
    );
    expect(parseConfig({ environment: 'production', testDirectory: { enabled: false } }).environment).toBe('production');
  });
});
