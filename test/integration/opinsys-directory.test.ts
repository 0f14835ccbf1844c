import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { CLAIM } from '../../src/claims/claim-names.js';
import { PUPIL_COMPLETE_CLAIMS } from '../support/pupil-claims.js';
import { parseConfig } from '../../src/config/load.js';
import { createStorage } from '../../src/storage/index.js';
import { t } from '../../src/http/i18n.js';
import type { OpinsysFault } from '../../src/testdirectory/opinsys/simulator.js';
import { type BridgeHandle } from '../support/bridge.js';
import { startTwoInstances, type TwoInstances } from '../support/instances.js';
import { OPERATOR } from '../support/environments.js';
import { RP_REDIRECT } from '../support/federation.js';
import { startOpinsysServer, type OpinsysServerHandle } from '../support/opinsys-server.js';
import { RelyingParty, type AuthorizationRequest } from '../support/relying-party.js';
import { linksWithText, textOf, UserAgent, type Page } from '../support/user-agent.js';

const AUTH = `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`;
const DIRECTORY = 'opinsys-school';
const ONBOARDED = 'kunta-opinsys';
const INVALID_ANSWER = t('en', 'error.directory_invalid_response');
const OTHER_BROWSER = t('en', 'error.directory_transaction_invalid');

/** pupil-complete as the claims step delivers it from the simulator's extended claims (as from the OIDC test directory). */
const PUPIL_CLAIMS = { ...PUPIL_COMPLETE_CLAIMS, [CLAIM.educationProviderId]: ['1.2.246.562.99.00000000001'] };

/**
 * Opinsys directories: two bridge instances on one Redis sign users in through the Opinsys SSO
 * simulator, a separate HTTP server written from Opinsys' developer documentation.
 */
describe('Opinsys directory', () => {
  let instances: TwoInstances;
  let sim: OpinsysServerHandle;
  let a: BridgeHandle;
  let b: BridgeHandle;
  const workDir = mkdtempSync(join(tmpdir(), 'mpassid-opinsys-'));

  beforeAll(async () => {
    instances = await startTwoInstances(async ({ ports }) => {
      // The simulator is told the bridges' hosts, which name their ports.
      sim = await startOpinsysServer({ returnToHosts: [`127.0.0.1:${ports.a}`, `127.0.0.1:${ports.b}`] });
      return {
        upstreams: [
          {
            type: 'opinsys',
            id: DIRECTORY,
            displayName: { fi: 'Opinsys-koulu', sv: 'Opinsys-skola', en: 'Opinsys school' },
            baseUrl: sim.baseUrl,
            organisation: sim.organisation,
            clientSecret: sim.sharedSecret,
            accounts: 'test',
          },
        ],
      };
    });
    ({ a, b } = instances);
  });

  afterAll(async () => {
    await instances?.stop();
    await sim?.stop();
  });

  const service = (bridge: BridgeHandle) => instances.service(bridge);

  interface Started {
    rp: RelyingParty;
    request: AuthorizationRequest;
    agent: UserAgent;
    /** Where the login stopped: the Opinsys form, or the service's redirect URI when Opinsys answered at once. */
    page: Page;
  }

  /** A service's login through the directory named with acr_values, up to the Opinsys form. */
  async function begin(bridge: BridgeHandle, options: { agent?: UserAgent; directory?: string; extra?: Record<string, string> } = {}): Promise<Started> {
    const agent = options.agent ?? new UserAgent('en');
    const rp = await service(bridge);
    const request = await rp.authorizationRequest({
      acr_values: `urn:mpass.id:authnsource:${options.directory ?? DIRECTORY}`,
      ui_locales: 'en',
      ...options.extra,
    });
    const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    return { rp, request, agent, page };
  }

  /** Signs in at the Opinsys form; stops at `stopAt` (the service by default). */
  function signIn(started: Started, username: string, stopAt = RP_REDIRECT): Promise<Page> {
    expect(started.page.body).toContain('name="username"');
    return started.agent.submit(started.page, { username, password: `${username}pwd`, action: 'login' }, { stopAt });
  }

  /** The redirect this browser was sent to Opinsys with. */
  function ssoRequestOf(agent: UserAgent, baseUrl = sim.baseUrl): URL {
    const page = agent.history.filter((p) => p.url.startsWith(`${baseUrl}/v3/sso?`)).at(-1);
    expect(page).toBeDefined();
    return new URL(page!.url);
  }

  /** The state the bridge put into return_to for this browser's login. */
  function stateOf(agent: UserAgent): string {
    return new URL(ssoRequestOf(agent).searchParams.get('return_to')!).searchParams.get('state')!;
  }

  /** A signed-in user's callback, not yet delivered to the bridge. */
  async function freshCallback(bridge: BridgeHandle, username = 'pupil-complete'): Promise<{ started: Started; url: string; jwt: string }> {
    const started = await begin(bridge);
    const atCallback = await signIn(started, username, `${bridge.issuer}/upstream/`);
    expect(atCallback.status).toBe(0);
    const url = new URL(atCallback.url);
    expect(url.pathname).toBe(`/upstream/${DIRECTORY}/callback`);
    return { started, url: atCallback.url, jwt: url.searchParams.get('jwt')! };
  }

  /** The failure page, then its button: the service receives `error` and no token. */
  async function expectRefused(page: Page, started: Started, text: string, error = 'access_denied'): Promise<void> {
    expect(page.status).toBe(400);
    expect(textOf(page.body)).toContain(text);
    const [proceed] = linksWithText(page, t('en', 'error.continue'));
    expect(proceed).toBeDefined();
    const back = await started.agent.navigate(proceed!, { stopAt: RP_REDIRECT });
    expect(new URL(back.url).searchParams.get('error')).toBe(error);
    await expect(started.rp.redeem(back.url, started.request)).rejects.toBeInstanceOf(client.AuthorizationResponseError);
  }

  async function admin(bridge: BridgeHandle, method: string, path: string, body?: unknown) {
    const response = await fetch(`${bridge.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  const lastFailure = (bridge: BridgeHandle): Record<string, any> | undefined =>
    bridge.logs.filter((l) => l.msg === 'directory login failed').at(-1) as Record<string, any> | undefined;

  it('sends the browser to /v3/sso with return_to (carrying our state) and the organisation, and delivers the validated claims', async () => {
    const started = await begin(a);
    expect(started.page.url.startsWith(`${sim.baseUrl}/v3/sso?`)).toBe(true);
    const sso = ssoRequestOf(started.agent);
    expect(sso.searchParams.get('organisation')).toBe(sim.organisation);
    const returnTo = new URL(sso.searchParams.get('return_to')!);
    expect(`${returnTo.origin}${returnTo.pathname}`).toBe(`${a.issuer}/upstream/${DIRECTORY}/callback`);
    expect(returnTo.searchParams.get('state')).toMatch(/^[\w-]{32}$/);

    const done = await signIn(started, 'pupil-complete');
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    const tokens = await started.rp.redeem(done.url, started.request);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject(PUPIL_CLAIMS);
    expect(claims[CLAIM.originalIssuer]).toBe(sim.baseUrl);
    expect(claims.acr).toBe(`urn:mpass.id:authnsource:${DIRECTORY}`);
    expect(claims[CLAIM.uid]).toMatch(/^MPASSOID\.[0-9a-f]{40}$/);
    expect(await started.rp.userinfo(tokens.access_token, claims.sub)).toMatchObject({ sub: claims.sub, ...PUPIL_CLAIMS });
  });

  it('reads a teacher through the default mapping, and the role from the documented user_type when no roles claim is sent', async () => {
    const started = await begin(b);
    const done = await signIn(started, 'teacher');
    const claims = (await started.rp.redeem(done.url, started.request)).claims()!;
    expect(claims).toMatchObject({ given_name: 'Olli', family_name: 'Opettaja' });
    expect(String(claims[CLAIM.role])).toContain(';Opettaja;');
  });

  it('comes back without a form when the user is already signed in at Opinsys (as Kerberos logins do), prompt=login or not', async () => {
    const first = await begin(a);
    expect((await signIn(first, 'pupil-school-office')).url.startsWith(RP_REDIRECT)).toBe(true);
    const again = await begin(a, { agent: first.agent, extra: { prompt: 'login' } });
    expect(again.page.url.startsWith(RP_REDIRECT)).toBe(true);
    expect(ssoRequestOf(again.agent)).toBeDefined();
    expect((await again.rp.redeem(again.page.url, again.request)).claims()!.given_name).toBeDefined();
  });

  const refusedTokens: Array<[OpinsysFault, string, string]> = [
    ['alg-hs512', 'the jwt was refused', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['alg-none', 'the jwt was refused', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['alg-rs256', 'the jwt was refused', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['wrong-secret', 'the jwt was refused', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['expired', 'the jwt is too old', ''],
    ['future', 'the jwt was issued in the future', ''],
    ['no-iat', 'the jwt has no iat', ''],
    ['no-jti', 'the jwt has no valid jti', ''],
  ];
  it.each(refusedTokens)('refuses a JWT made wrong (%s) with a clear page and an OIDC error to the service', async (fault, reason, errorCode) => {
    sim.setFault(fault);
    try {
      const started = await begin(a);
      const page = await signIn(started, 'pupil-complete');
      await expectRefused(page, started, INVALID_ANSWER);
    } finally {
      sim.setFault('none');
    }
    const logged = lastFailure(a)!;
    expect(logged).toMatchObject({ directoryId: DIRECTORY, reason: 'directory_invalid_response' });
    expect(logged.err.message).toBe(reason);
    if (errorCode) expect(JSON.stringify(logged.err)).toContain(errorCode);
  });

  it('refuses a replayed JWT on the same instance and on another instance of the deployment', async () => {
    const first = await freshCallback(a);
    const done = await first.started.agent.navigate(first.url, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);

    for (const bridge of [a, b]) {
      // Another browser's own login, with the used token put into its callback.
      const other = await begin(bridge);
      const replay = `${bridge.issuer}/upstream/${DIRECTORY}/callback?state=${stateOf(other.agent)}&jwt=${first.jwt}`;
      const page = await other.agent.navigate(replay, { stopAt: RP_REDIRECT });
      await expectRefused(page, other, INVALID_ANSWER);
      expect(lastFailure(bridge)!.err.message).toBe('the jwt was already used');
    }
  });

  it('lets exactly one of two browsers racing with one fresh JWT on two instances sign in', async () => {
    const first = await freshCallback(a);
    const other = await begin(b);
    const raced = `${b.issuer}/upstream/${DIRECTORY}/callback?state=${stateOf(other.agent)}&jwt=${first.jwt}`;
    const pages = await Promise.all([first.started.agent.navigate(first.url, { stopAt: RP_REDIRECT }), other.agent.navigate(raced, { stopAt: RP_REDIRECT })]);
    const signedIn = pages.filter((p) => p.url.startsWith(RP_REDIRECT) && new URL(p.url).searchParams.has('code'));
    expect(signedIn).toHaveLength(1);
    expect(pages.filter((p) => p.status === 400)).toHaveLength(1);
  });

  it("refuses a callback carrying another browser's state, without spending its token: the rightful browser still finishes", async () => {
    const victim = await freshCallback(a);
    const other = await begin(a);
    const page = await other.agent.navigate(victim.url, { stopAt: RP_REDIRECT });
    await expectRefused(page, other, OTHER_BROWSER);
    const done = await victim.started.agent.navigate(victim.url, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    expect((await victim.started.rp.redeem(done.url, victim.started.request)).claims()!.given_name).toBe('Aino');
  });

  it('answers a callback without a jwt, or with two, with the same clear page (never a 500)', async () => {
    const fresh = await freshCallback(a);
    for (const query of [`state=${stateOf(fresh.started.agent)}`, `state=${stateOf(fresh.started.agent)}&jwt=${fresh.jwt}&jwt=${fresh.jwt}`]) {
      const started = await begin(a);
      const page = await started.agent.navigate(
        `${a.issuer}/upstream/${DIRECTORY}/callback?${query.replace(/state=[^&]+/, `state=${stateOf(started.agent)}`)}`,
        { stopAt: RP_REDIRECT },
      );
      await expectRefused(page, started, INVALID_ANSWER);
    }
  });

  it('offers a bundled Opinsys test directory in the test environment, served under the bridge', async () => {
    const chooserRp = await service(a);
    const chooser = await new UserAgent('en').navigate((await chooserRp.authorizationRequest()).url.href, { stopAt: RP_REDIRECT });
    expect(textOf(chooser.body)).toContain('Mansikkala test school (Opinsys)');
    const started = await begin(a, { directory: 'test-opinsys' });
    expect(started.page.url.startsWith(`${a.issuer}/test-opinsys/v3/sso?`)).toBe(true);
    // Served by one instance, finished by the other: the shared secret is the deployment's.
    const done = await signIn(started, 'pupil-complete');
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    const claims = (await started.rp.redeem(done.url, started.request)).claims()!;
    expect(claims).toMatchObject(PUPIL_CLAIMS);
    expect(claims[CLAIM.originalIssuer]).toBe(`${a.issuer}/test-opinsys`);
  });

  it('is onboarded through the CLI on one instance and used on another without a restart; directory show prints our host and path', async () => {
    const definition = {
      type: 'opinsys',
      id: ONBOARDED,
      displayName: { fi: 'Testikunnan koulut (Opinsys)', en: 'Test municipality schools (Opinsys)' },
      baseUrl: sim.baseUrl,
      organisation: sim.organisation,
      accounts: 'test',
      schools: ['30076'],
    };
    const file = join(workDir, 'opinsys.json');
    writeFileSync(file, JSON.stringify(definition));
    const cli = (args: string[], stdin?: string) => instances.cli(args, stdin);

    const added = await cli(['directory', 'add', '--file', file, '--client-secret-stdin'], `${sim.sharedSecret}\n`);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`${ONBOARDED}: added as draft`);
    const shown = await cli(['directory', 'show', ONBOARDED]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`host: 127.0.0.1:${a.port}`);
    expect(shown.stdout).toContain(`pathPrefix: /upstream/${ONBOARDED}/callback`);
    expect(shown.stdout).toContain(`returnTo: ${a.issuer}/upstream/${ONBOARDED}/callback`);
    expect(shown.stdout).not.toContain(sim.sharedSecret);
    expect(JSON.stringify(await a.storage.durable('registry').get(`directory:${ONBOARDED}`))).not.toContain(sim.sharedSecret);

    expect((await cli(['directory', 'start-testing', ONBOARDED, '--reason', 'Opinsys test tenant'])).code).toBe(0);
    const started = await begin(b, { directory: ONBOARDED });
    const done = await signIn(started, 'pupil-complete');
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    const claims = (await started.rp.redeem(done.url, started.request)).claims()!;
    expect(claims).toMatchObject({ given_name: 'Aino', [CLAIM.schoolCode]: ['30076'] });
    expect(claims.acr).toBe(`urn:mpass.id:authnsource:${ONBOARDED}`);
  });

  it('refuses an Opinsys definition with a bad organisation or without its shared secret', async () => {
    const base = { type: 'opinsys', id: 'bad-opinsys', displayName: { fi: 'x' }, baseUrl: sim.baseUrl, accounts: 'test' };
    const badOrganisation = await admin(a, 'POST', '/directories', { ...base, organisation: 'Not a domain/', clientSecret: 'secret' });
    expect(badOrganisation.status).toBe(400);
    expect(badOrganisation.body.error_description).toContain('organisation');
    const noSecret = await admin(a, 'POST', '/directories', base);
    expect(noSecret.status).toBe(400);
    expect(noSecret.body.error_description).toContain('clientSecret');
  });

  it('runs the attribute check for an Opinsys directory', async () => {
    const issued = await instances.cli(['directory', 'check-link', ONBOARDED]);
    expect(issued.code).toBe(0);
    const url = issued.stdout.trim().split('\n').at(-1)!.replace(a.issuer, b.issuer);
    const agent = new UserAgent('en');
    const start = await agent.get(url);
    expect(start.status).toBe(200);
    const [startHref] = linksWithText(start, 'Sign in with a test account');
    const atOpinsys = await agent.get(startHref!);
    expect(atOpinsys.url.startsWith(`${sim.baseUrl}/v3/sso?`)).toBe(true);
    const result = await agent.submit(atOpinsys, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' });
    expect(result.status).toBe(200);
    expect(result.body).toMatch(/id="outcome"[^>]*data-outcome="released"/);
    expect(result.body).toMatch(/data-claim="urn:mpass.id:schoolCode" data-status="ok"/);
    expect(result.body).toMatch(/data-attribute="learnerId" data-status="present"/);
  });

  it('reports the Opinsys address reachable, and unreachable with the reason while it is down', async () => {
    const check = async () => {
      const response = await admin(a, 'POST', '/directories/health-check', {});
      expect(response.status).toBe(200);
      return Object.fromEntries((response.body.health as Array<Record<string, unknown>>).map((h) => [String(h.id), h]));
    };
    const up = await check();
    expect(up[DIRECTORY]).toMatchObject({ status: 'up', failures: 0 });
    expect(up['test-opinsys']).toMatchObject({ status: 'up' });
    await sim.stop();
    try {
      const down = await check();
      expect(down[DIRECTORY]).toMatchObject({ status: 'down', failures: 1 });
      expect(String(down[DIRECTORY]!.lastError)).toContain(`cannot reach ${sim.baseUrl}`);
      expect(down['test-opinsys']).toMatchObject({ status: 'up' });
    } finally {
      await sim.start();
    }
    expect((await check())[DIRECTORY]).toMatchObject({ status: 'up', failures: 0 });
  });

  it('remembers a one-time value for exactly one of concurrent callers, in Redis and in memory', async () => {
    const memory = createStorage(parseConfig({ env: 'test', issuer: 'http://127.0.0.1:1' }).redis);
    try {
      for (const store of [a.storage.state('opinsys-add-test'), memory.state('opinsys-add-test')]) {
        const results = await Promise.all(Array.from({ length: 8 }, () => store.add('jti:x', 1, 60)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.add('jti:x', 1, 60)).toBe(false);
        expect(await store.add('jti:y', 1, 60)).toBe(true);
      }
    } finally {
      await memory.close();
    }
  });

  it('never writes names, user ids, tokens or the shared secret to its logs', async () => {
    for (const bridge of [a, b]) {
      const text = bridge.logText();
      expect(text.length).toBeGreaterThan(0);
      for (const secret of ['Aino', 'Mansikka', 'pupil-complete', '1.2.246.562.24.10000000001', sim.sharedSecret, 'eyJ', 'jwt='])
        expect(text).not.toContain(secret);
    }
  });
});
