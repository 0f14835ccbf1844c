import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runAdminCli } from '../support/admin-cli.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLAIM } from '../../src/claims/claim-names.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { hashPassword } from '../../src/admin/passwords.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { RP_CLIENT, RP_REDIRECT } from '../support/federation.js';
import { listeningHttpServer } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RelyingParty } from '../support/relying-party.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from '../support/directory-idp.js';
import { linksWithText, textOf, UserAgent, type Page } from '../support/user-agent.js';
import { testSecrets } from '../support/keys.js';

const OPERATOR = { username: 'operator', password: 'operator-password-0123456789' };
const AUTH = `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`;
const DIRECTORY_ID = 'espoo-schools';
const DIRECTORY_NAME = 'Esimerkkikaupungin koulut';
const SECOND_SERVICE = { client_id: 'second-service', client_secret: 'second-service-secret-0123456789', redirect_uris: [RP_REDIRECT] };

const COMPLETE_SELF_AUDIT = {
  attributes: [
    { attribute: 'username', userGroups: ['pupils', 'teachers'] },
    { attribute: 'learnerId', userGroups: ['pupils'] },
    { attribute: 'schoolIds', userGroups: ['pupils', 'teachers'] },
    { attribute: 'roles', userGroups: ['pupils', 'teachers'] },
    { attribute: 'groups', userGroups: ['pupils'] },
  ],
  uniqueIdMaintenance: 'Assigned by the student administration system, never reused.',
  learnerIdMaintenance: 'Read from the national student register every night.',
  accountAdministration: 'The city ICT services.',
  leaverRemoval: 'Accounts are closed on the last day of the school year and removed within 30 days.',
  securityContact: { name: 'Tietoturva', email: 'security@example-city.fi' },
  submittedBy: 'Example City education services',
};

/**
 * Three instances of one deployment sharing Redis and secrets: two of the test environment, one of
 * production. Operators manage a directory through the CLI and the admin API of one instance; the
 * others see every change without a restart.
 */
describe('school onboarding: a directory added by operators, its lifecycle, self-audit and check', () => {
  let redis: RedisServerHandle;
  let secrets: BridgeSecrets;
  let directoryIdp: DirectoryIdpHandle;
  let testA: BridgeHandle;
  let testB: BridgeHandle;
  let prod: BridgeHandle;
  const clientSecret = 'espoo-directory-secret-0123456789';
  const workDir = mkdtempSync(join(tmpdir(), 'mpassid-onboarding-'));

  beforeAll(async () => {
    redis = await startRedisServer();
    secrets = testSecrets();
    // The bridges' servers listen first: the directory is told their callbacks, which name their ports.
    const listeners = { a: await listeningHttpServer(), b: await listeningHttpServer(), prod: await listeningHttpServer() };
    directoryIdp = await startDirectoryIdp({
      clientSecret,
      redirectUris: Object.values(listeners).map(({ port }) => `http://127.0.0.1:${port}/upstream/${DIRECTORY_ID}/callback`),
    });
    const common = {
      redis: { url: redis.url, commandTimeoutMs: 1000 },
      admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
      clients: [RP_CLIENT, SECOND_SERVICE],
      // Every request looks at the shared revision: changes are visible at once, deterministically.
      directories: { refreshIntervalMs: 0, healthCheckIntervalSeconds: 0 },
    };
    testA = await startBridge({ server: listeners.a.server, secrets, config: { ...common, environment: 'test' } });
    testB = await startBridge({ server: listeners.b.server, secrets, config: { ...common, environment: 'test' } });
    prod = await startBridge({
      server: listeners.prod.server,
      secrets,
      config: { ...common, environment: 'production', testDirectory: { enabled: false }, attributeTestService: { enabled: false } },
    });
  });

  afterAll(async () => {
    await prod?.stop();
    await testB?.stop();
    await testA?.stop();
    await directoryIdp?.stop();
    await redis?.stop();
  });

  const cli = (args: string[], stdin?: string) => runAdminCli({ url: testA.issuer, user: OPERATOR.username, password: OPERATOR.password }, args, stdin);

  async function admin(bridge: BridgeHandle, method: string, path: string, body?: unknown) {
    const response = await fetch(`${bridge.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  async function service(bridge: BridgeHandle, client = RP_CLIENT): Promise<RelyingParty> {
    return RelyingParty.discover({ issuer: bridge.issuer, clientId: client.client_id, clientSecret: client.client_secret, redirectUri: RP_REDIRECT });
  }

  /** The chooser a service's login shows (no directory asked for). */
  async function chooser(bridge: BridgeHandle, agent = new UserAgent()): Promise<Page> {
    const rp = await service(bridge);
    return agent.navigate((await rp.authorizationRequest()).url.href, { stopAt: RP_REDIRECT });
  }

  /** A whole login through the directory, named with acr_values; the service's callback URL or the page it ended on. */
  async function login(bridge: BridgeHandle, username: string, options: { agent?: UserAgent; client?: typeof RP_CLIENT } = {}) {
    const agent = options.agent ?? new UserAgent();
    const rp = await service(bridge, options.client);
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${DIRECTORY_ID}` });
    let page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    if (page.body.includes('name="username"') && page.url.startsWith(directoryIdp.issuer)) {
      page = await agent.submit(page, { username, password: `${username}pwd`, action: 'login' }, { stopAt: RP_REDIRECT });
    }
    return { page, rp, request, agent };
  }

  it('adds a directory through the CLI on one instance; another instance follows without a restart', async () => {
    const definition = {
      id: DIRECTORY_ID,
      displayName: { fi: DIRECTORY_NAME, sv: 'Exempelstadens skolor', en: 'Example City schools' },
      provider: { name: { fi: 'Esimerkkikaupunki', sv: 'Exempelstaden' }, oid: '1.2.246.562.99.00000000001' },
      issuer: directoryIdp.issuer,
      clientId: directoryIdp.clientId,
      // Vouches for the test school only (its code and its OID); not for 30081 of another provider.
      schools: ['30076', { id: '1.2.246.562.99.00000000002', name: { fi: 'Mansikkalan testi peruskoulu' } }],
    };
    const file = join(workDir, 'directory.json');
    writeFileSync(file, JSON.stringify(definition));

    const added = await cli(['directory', 'add', '--file', file, '--client-secret-stdin'], `${clientSecret}\n`);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`${DIRECTORY_ID}: added as draft`);
    expect(added.stdout).toContain(`/upstream/${DIRECTORY_ID}/callback`);

    // A draft is nowhere: not in the chooser, and a deep link to it falls back to the chooser.
    expect(textOf((await chooser(testB)).body)).not.toContain(DIRECTORY_NAME);
    const draftLogin = await login(testB, 'pupil-complete');
    expect(draftLogin.page.url.startsWith(testB.issuer)).toBe(true);
    expect(draftLogin.page.body).toContain('upstream');

    const testing = await cli(['directory', 'start-testing', DIRECTORY_ID, '--reason', 'integration test begins']);
    expect(testing.code).toBe(0);
    expect(testing.stdout).toContain('draft -> testing');

    // Instance B was never restarted: it knows the directory is in testing. A directory of real
    // pupils in testing is reached only through the operator's attribute check, not by services of
    // the test environment (which offers only test directories).
    const shownOnB = await admin(testB, 'GET', `/directories/${DIRECTORY_ID}`);
    expect(shownOnB.body.status).toBe('testing');
    expect(textOf((await chooser(testB)).body)).not.toContain(DIRECTORY_NAME);
    const testLogin = await login(testB, 'pupil-complete');
    expect(testLogin.page.url.startsWith(directoryIdp.issuer)).toBe(false);

    // In testing, the directory is not in production.
    expect(textOf((await chooser(prod)).body)).not.toContain(DIRECTORY_NAME);
    const prodLogin = await login(prod, 'pupil-complete');
    expect(prodLogin.page.url.startsWith(directoryIdp.issuer)).toBe(false);
  });

  it('stores the client secret sealed and never gives it out', async () => {
    const raw = JSON.stringify(await testA.storage.durable('registry').get(`directory:${DIRECTORY_ID}`));
    expect(raw).toContain('"kind":"sealed"');
    expect(raw).not.toContain(clientSecret);
    const shown = await admin(testB, 'GET', `/directories/${DIRECTORY_ID}`);
    expect(shown.status).toBe(200);
    expect(shown.body.clientSecret).toEqual({ kind: 'sealed', keyId: expect.any(String) });
    expect(JSON.stringify(shown.body)).not.toContain(clientSecret);
    const listed = await cli(['directory', 'show', DIRECTORY_ID]);
    expect(listed.stdout).not.toContain(clientSecret);
    for (const bridge of [testA, testB, prod]) expect(bridge.logText()).not.toContain(clientSecret);
  });

  it('refuses approval until the self-audit is complete and an attribute check has passed', async () => {
    const early = await admin(testA, 'POST', `/directories/${DIRECTORY_ID}/approve`, {});
    expect(early.status).toBe(409);
    expect(early.body.error).toBe('incomplete_self_audit');
    expect(early.body.error_description).toContain('the self-audit has not been submitted');

    const partial = await admin(testA, 'PUT', `/directories/${DIRECTORY_ID}/self-audit`, {
      ...COMPLETE_SELF_AUDIT,
      securityContact: undefined,
      leaverRemoval: undefined,
    });
    expect(partial.status).toBe(200);
    expect(partial.body.gaps).toEqual(['leaverRemoval: not answered', 'securityContact: not given']);
    const stillEarly = await admin(testA, 'POST', `/directories/${DIRECTORY_ID}/approve`, {});
    expect(stillEarly.status).toBe(409);
    expect(stillEarly.body.error).toBe('incomplete_self_audit');

    const selfAuditFile = join(workDir, 'self-audit.json');
    writeFileSync(selfAuditFile, JSON.stringify(COMPLETE_SELF_AUDIT));
    const recorded = await cli(['directory', 'self-audit', DIRECTORY_ID, '--file', selfAuditFile]);
    expect(recorded.stdout).toContain('self-audit recorded, complete');

    const noCheck = await admin(testA, 'POST', `/directories/${DIRECTORY_ID}/approve`, {});
    expect(noCheck.status).toBe(409);
    expect(noCheck.body.error).toBe('no_evidence');
  });

  it('runs the attribute check through an issued link on any instance, releasing nothing and storing evidence', async () => {
    const issued = await cli(['directory', 'check-link', DIRECTORY_ID, '--note', 'for the city ICT admin']);
    expect(issued.code).toBe(0);
    const url = issued.stdout.trim().split('\n').at(-1)!;
    expect(url.startsWith(`${testA.issuer}/directory-check/`)).toBe(true);

    async function check(username: string): Promise<Page> {
      const agent = new UserAgent('en');
      const start = await agent.get(url);
      expect(start.status).toBe(200);
      expect(textOf(start.body)).toContain('Example City schools');
      const [startHref] = linksWithText(start, 'Sign in with a test account');
      const atDirectory = await agent.get(startHref!);
      expect(atDirectory.url.startsWith(directoryIdp.issuer)).toBe(true);
      const result = await agent.submit(atDirectory, { username, password: `${username}pwd`, action: 'login' });
      expect(result.status).toBe(200);
      // Nothing for any service: no session at the bridge, no code anywhere.
      expect(Object.keys(agent.cookiesFor(`${testA.issuer}/auth`)).filter((name) => name.startsWith('mpass_test_'))).toEqual([]);
      return result;
    }

    const valid = await check('pupil-complete');
    expect(valid.body).toMatch(/id="outcome"[^>]*data-outcome="released"/);
    expect(valid.body).toMatch(/data-claim="urn:mpass.id:schoolCode" data-status="ok"/);
    expect(valid.body).toMatch(/data-attribute="learnerId" data-status="present"/);
    expect(valid.body).toContain('id="recorded"');

    const blocked = await check('blocked-no-learner-id');
    expect(blocked.body).toMatch(/data-outcome="blocked"/);
    expect(blocked.body).toMatch(/data-attribute="learnerId" data-status="missing"/);
    expect(blocked.body).toMatch(/data-claim="urn:oid:1.3.6.1.4.1.16161.1.1.27" data-status="not-released" data-rule="learnerId"/);

    const dropped = await check('no-role');
    expect(dropped.body).toMatch(/data-outcome="released"/);
    expect(dropped.body).toMatch(/data-claim="urn:mpass.id:role" data-status="missing" data-rule="roles"/);

    const shown = await admin(testB, 'GET', `/directories/${DIRECTORY_ID}`);
    const evidence = shown.body.evidence as Array<Record<string, any>>;
    expect(evidence.map((e) => e.outcome)).toEqual(['released', 'blocked', 'released']);
    expect(evidence[1]!.blockReason).toBe('learner_id_missing');
    expect(evidence[0]!.by).toMatch(/^check-link:[\w-]{10}$/);
    expect(evidence[0]!.linkIssuedBy).toBe(OPERATOR.username);
    // Evidence keeps statuses, not values.
    expect(JSON.stringify(evidence)).not.toMatch(/1\.2\.246\.562\.24\.\d{11}|Aino/);
    expect(shown.body.approval).toEqual({ selfAuditComplete: true, passingCheck: true });

    // The link is a secret: request logs show it masked.
    const token = url.split('/').at(-1)!;
    for (const bridge of [testA, testB]) expect(bridge.logText()).not.toContain(token);
    expect(testA.logs.some((l) => l.msg === 'request' && l.path === '/directory-check/[redacted]/start')).toBe(true);

    const forged = await new UserAgent().get(`${testA.issuer}/directory-check/${'x'.repeat(43)}`);
    expect(forged.status).toBe(404);

    // A link can be ended before it expires: it then leads nowhere, on every instance.
    const listed = await cli(['directory', 'check-links', DIRECTORY_ID]);
    const linkId = listed.stdout.trim().split(/\s+/)[0]!;
    expect(issued.stdout).toContain(`attribute check link ${linkId} for`);
    const second = await admin(testA, 'POST', `/directories/${DIRECTORY_ID}/check-links`, {});
    const revoked = await cli(['directory', 'revoke-check-link', DIRECTORY_ID, linkId, '--reason', 'sent to the wrong address']);
    expect(revoked.stdout).toContain(`check link ${linkId} revoked`);
    expect((await new UserAgent().get(url)).status).toBe(404);
    expect((await new UserAgent().get(url.replace(testA.issuer, testB.issuer))).status).toBe(404);
    expect((await new UserAgent().get(second.body.url as string)).status).toBe(200);
    expect((await admin(testB, 'GET', `/directories/${DIRECTORY_ID}/check-links`)).body.links.map((l: { id: string }) => l.id)).toEqual([second.body.id]);
    expect((await admin(testA, 'DELETE', `/directories/${DIRECTORY_ID}/check-links/${linkId}`, {})).status).toBe(404);
  });

  it('approved: production signs users in; suspended: nowhere, sessions included; reinstated: back', async () => {
    const approved = await cli(['directory', 'approve', DIRECTORY_ID, '--reason', 'self-audit and check reviewed']);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('testing -> approved');

    const listed = await chooser(prod);
    expect(linksWithText(listed, DIRECTORY_NAME)).toHaveLength(1);
    // A school listed by code only is named from the organisation registry.
    expect(listed.body).toContain('data-search="mansikkalan testi peruskoulu 30076"');
    const agent = new UserAgent();
    const first = await login(prod, 'teacher', { agent });
    expect(first.page.url.startsWith(RP_REDIRECT)).toBe(true);
    const firstTokens = await first.rp.redeem(first.page.url, first.request);
    const claims = firstTokens.claims()!;
    expect(claims[CLAIM.role]).toBeDefined();
    // The acr names the directory, and discovery lists it, though it was added at run time.
    expect(claims.acr).toBe(`urn:mpass.id:authnsource:${DIRECTORY_ID}`);
    const discovery = (await (await fetch(`${prod.issuer}/.well-known/openid-configuration`)).json()) as { acr_values_supported: string[] };
    expect(discovery.acr_values_supported).toContain(`urn:mpass.id:authnsource:${DIRECTORY_ID}`);
    expect(claims[CLAIM.schoolCode]).toEqual(['30076']);
    expect(claims[CLAIM.educationProviderId]).toEqual(['1.2.246.562.99.00000000001']);
    const userinfoStatus = async () => (await fetch(`${prod.issuer}/me`, { headers: { authorization: `Bearer ${firstTokens.access_token}` } })).status;
    expect(await userinfoStatus()).toBe(200);

    expect((await admin(testA, 'DELETE', `/directories/${DIRECTORY_ID}`, {})).status).toBe(409);

    const suspended = await admin(testA, 'POST', `/directories/${DIRECTORY_ID}/suspend`, { reason: 'security incident' });
    expect(suspended.status).toBe(200);
    // Tokens issued before the suspension read nothing more.
    expect(await userinfoStatus()).toBe(401);
    expect(textOf((await chooser(prod)).body)).not.toContain(DIRECTORY_NAME);
    expect(textOf((await chooser(testB)).body)).not.toContain(DIRECTORY_NAME);
    // The SSO session of the same browser no longer reaches another service.
    const rp = await service(prod, SECOND_SERVICE);
    const request = await rp.authorizationRequest();
    const refused = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(refused.status).toBe(400);
    const [proceed] = linksWithText(refused, 'Palaa palveluun');
    const toService = await agent.navigate(proceed!, { stopAt: RP_REDIRECT });
    expect(new URL(toService.url).searchParams.get('error')).toBe('access_denied');

    const reinstated = await cli(['directory', 'reinstate', DIRECTORY_ID]);
    expect(reinstated.stdout).toContain('suspended (from approved) -> approved');
    expect((await login(prod, 'pupil-complete')).page.url.startsWith(RP_REDIRECT)).toBe(true);

    const audit = await cli(['audit', '--directory', DIRECTORY_ID]);
    expect(
      audit.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(/\s+/)[2]),
    ).toEqual([
      'create',
      'start-testing',
      'self-audit',
      'self-audit',
      'issue-check-link',
      'attribute-check',
      'attribute-check',
      'attribute-check',
      'issue-check-link',
      'revoke-check-link',
      'approve',
      'suspend',
      'reinstate',
    ]);
  });

  it('edits reach every instance; the education provider restricts services; removal keeps the id taken', async () => {
    // A code issued before the restriction is refused once it applies: one decision judges logins and tokens.
    const earlier = await login(prod, 'pupil-complete', { client: SECOND_SERVICE });
    expect(earlier.page.url.startsWith(RP_REDIRECT)).toBe(true);
    const renamed = await admin(testA, 'PATCH', `/directories/${DIRECTORY_ID}`, { displayName: { fi: 'Uusi nimi' }, allowedClients: [RP_CLIENT.client_id] });
    expect(renamed.status).toBe(200);
    expect(renamed.body.detail.changed).toEqual(['displayName', 'allowedClients']);
    expect(linksWithText(await chooser(prod), 'Uusi nimi')).toHaveLength(1);
    await expect(earlier.rp.redeem(earlier.page.url, earlier.request)).rejects.toMatchObject({ error: 'invalid_grant' });

    const restricted = await login(prod, 'pupil-complete', { client: SECOND_SERVICE });
    expect(restricted.page.status).toBe(400);
    expect(textOf(restricted.page.body)).toContain('Koulusi ei ole sallinut tämän palvelun käyttöä');
    const [proceed] = linksWithText(restricted.page, 'Palaa palveluun');
    const toService = await restricted.agent.navigate(proceed!, { stopAt: RP_REDIRECT });
    expect(new URL(toService.url).searchParams.get('error')).toBe('access_denied');
    expect((await login(prod, 'pupil-complete')).page.url.startsWith(RP_REDIRECT)).toBe(true);
    // The restriction lifted (null clears it): the second service gets the user again.
    const lifted = await admin(testA, 'PATCH', `/directories/${DIRECTORY_ID}`, { allowedClients: null });
    expect(lifted.body.detail.changed).toEqual(['allowedClients']);
    expect((await admin(testB, 'GET', `/directories/${DIRECTORY_ID}`)).body.allowedClients).toBeUndefined();
    expect((await login(prod, 'pupil-complete', { client: SECOND_SERVICE })).page.url.startsWith(RP_REDIRECT)).toBe(true);

    // A school the directory is not registered for is treated as unresolved: its claims are dropped, and logged.
    const foreign = await login(prod, 'principal-swedish-school');
    const foreignClaims = (await foreign.rp.redeem(foreign.page.url, foreign.request)).claims()!;
    expect(foreignClaims[CLAIM.learnerId]).toBe('1.2.246.562.24.10000000023');
    expect(foreignClaims[CLAIM.schoolCode]).toBeUndefined();
    expect(foreignClaims[CLAIM.role]).toBeUndefined();
    expect(
      prod.logs.some((l) => l.msg === 'directory asserted a school it is not registered for' && l.directoryId === DIRECTORY_ID && l.schoolCode === '30081'),
    ).toBe(true);

    const invalid = await admin(testA, 'PATCH', `/directories/${DIRECTORY_ID}`, { issuer: 'not a url', schools: ['123'] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error_description).toContain('issuer');
    expect(invalid.body.error_description).toContain('schools.0');
    expect((await admin(testA, 'PATCH', '/directories/test-school', { displayName: { fi: 'x' } })).status).toBe(409);
    expect((await admin(testA, 'POST', '/directories', { id: 'x' })).status).toBe(400);

    expect((await admin(testA, 'POST', `/directories/${DIRECTORY_ID}/suspend`, {})).status).toBe(200);
    expect((await admin(testA, 'DELETE', `/directories/${DIRECTORY_ID}`, { reason: 'left the federation' })).status).toBe(200);
    expect((await admin(testB, 'GET', `/directories/${DIRECTORY_ID}`)).status).toBe(404);
    const again = await admin(testA, 'POST', '/directories', {
      id: DIRECTORY_ID,
      displayName: { fi: 'x' },
      issuer: directoryIdp.issuer,
      clientId: 'x',
      clientSecret: 'y',
    });
    expect(again.status).toBe(409);
  });
});
