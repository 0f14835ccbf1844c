import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLAIM } from '../../src/claims/claim-names.js';
import { PUPIL_COMPLETE_CLAIMS } from '../support/pupil-claims.js';
import { t } from '../../src/http/i18n.js';
import { loadTestUsers } from '../../src/testdirectory/users.js';
import { startWilmaServer, type WilmaServerHandle } from '../../src/testdirectory/wilma/server.js';
import type { WilmaUserDataFault } from '../../src/testdirectory/wilma/simulator.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { startTwoInstances, type TwoInstances } from '../support/instances.js';
import { RP_CLIENT, RP_REDIRECT } from '../support/federation.js';
import { NOTHING_LISTENS_PORT } from '../support/ports.js';
import { RelyingParty, type AuthorizationRequest } from '../support/relying-party.js';
import { linksWithText, textOf, UserAgent, type Page } from '../support/user-agent.js';

const SECRET = 'wilma-shared-secret-0123456789abcdef';
const WILMA_ID = 'wilma-school';
const LEGACY_ID = 'wilma-legacy';
const GONE_ID = 'wilma-gone';
const USERS = loadTestUsers(resolve('config/test-users.json'));

/**
 * What the simulator answers beyond the documented legacy answer, named as the default mapping reads
 * them (a real Wilma that sends these is configured the same way).
 */
const EXTENDED_ATTRIBUTES = {
  learner_id: 'learner_id',
  nickname: 'nickname',
  group_levels: 'roles[].class_level',
  learning_materials_charges: 'roles[].learning_materials_charge',
};

/** pupil-complete as services receive them, through Wilma as through any directory. */
const PUPIL_CLAIMS = PUPIL_COMPLETE_CLAIMS;

const wilmaDirectory = (id: string, baseUrl: string, extra: Record<string, unknown> = {}) => ({
  type: 'wilma',
  id,
  displayName: { fi: `Wilma ${id}`, en: `Wilma ${id}` },
  baseUrl,
  clientSecret: SECRET,
  accounts: 'test',
  ...extra,
});

/** The refusal page: a readable message, and its button hands `error` to the service. */
async function expectRefused(agent: UserAgent, page: Page, message: string, error = 'access_denied'): Promise<void> {
  expect([400, 502]).toContain(page.status);
  expect(textOf(page.body)).toContain(message);
  const [returnLink] = linksWithText(page, t('en', 'error.continue'));
  expect(returnLink).toBeDefined();
  const back = await agent.navigate(returnLink!, { stopAt: RP_REDIRECT });
  expect(back.url.startsWith(RP_REDIRECT)).toBe(true);
  expect(new URL(back.url).searchParams.get('error')).toBe(error);
}

// The pages' own wording (src/http/i18n.ts), in English.
const FAULTY_ANSWER = t('en', 'error.directory_invalid_response');

describe('Wilma directory: logins against a Wilma simulator on its own port', () => {
  let wilma: WilmaServerHandle;
  let legacy: WilmaServerHandle;
  let bridge: BridgeHandle;
  let rp: RelyingParty;

  beforeAll(async () => {
    wilma = await startWilmaServer({ secret: SECRET, users: USERS });
    // A Wilma answering only what the protocol documents.
    legacy = await startWilmaServer({ secret: SECRET, users: USERS, extendedAnswer: false });
    bridge = await startBridge({
      config: {
        clients: [RP_CLIENT],
        // The hanging user-data call ends by this timeout.
        upstreamHttp: { timeoutMs: 1500 },
        directories: { healthCheckIntervalSeconds: 0 },
        upstreams: [
          wilmaDirectory(WILMA_ID, wilma.url, { userAttributes: EXTENDED_ATTRIBUTES }),
          wilmaDirectory(LEGACY_ID, legacy.url),
          wilmaDirectory(GONE_ID, `http://127.0.0.1:${NOTHING_LISTENS_PORT}`),
        ],
      } as never,
    });
    rp = await RelyingParty.discover({ issuer: bridge.issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
  });

  afterAll(async () => {
    await bridge?.stop();
    await legacy?.stop();
    await wilma?.stop();
  });

  const callbackOf = (id: string): string => `${bridge.issuer}/upstream/${id}/callback`;

  /** A service's login through the directory up to Wilma's login form. */
  async function atWilma(agent: UserAgent, id = WILMA_ID, extra: Record<string, string> = {}): Promise<{ request: AuthorizationRequest; page: Page }> {
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${id}`, ui_locales: 'en', ...extra });
    const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="username"');
    return { request, page };
  }

  /** Signs in at Wilma and stops where Wilma sends the browser back (the callback URL, not yet requested). */
  async function signInAtWilma(agent: UserAgent, page: Page, username: string, id = WILMA_ID): Promise<string> {
    const back = await agent.submit(page, { username, password: `${username}pwd`, action: 'login' }, { stopAt: callbackOf(id) });
    expect(back.status).toBe(0);
    return back.url;
  }

  async function withFault<T>(fault: WilmaUserDataFault, run: () => Promise<T>): Promise<T> {
    wilma.simulator.faults.userData = fault;
    try {
      return await run();
    } finally {
      wilma.simulator.faults.userData = 'none';
    }
  }

  it('signs a pupil in through Wilma: signed redirect, signed user-data call, validated claims', async () => {
    const agent = new UserAgent('en');
    const { request, page } = await atWilma(agent);
    const toWilma = new URL(page.url);
    expect(`${toWilma.origin}${toWilma.pathname}`).toBe(`${wilma.url}/mpass`);
    const returnUrl = new URL(toWilma.searchParams.get('redirectto')!);
    expect(`${returnUrl.origin}${returnUrl.pathname}`).toBe(callbackOf(WILMA_ID));
    expect(returnUrl.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(toWilma.searchParams.get('h')).toMatch(/^[0-9a-f]{64}$/);
    expect(toWilma.searchParams.has('forceauth')).toBe(false);

    const callback = await signInAtWilma(agent, page, 'pupil-complete');
    expect(new URL(callback).searchParams.get('userid')).toBe('pupil-complete');
    const done = await agent.navigate(callback, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    const tokens = await rp.redeem(done.url, request);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject(PUPIL_CLAIMS);
    expect(claims[CLAIM.originalIssuer]).toBe(wilma.url);
    expect(claims.acr).toBe(`urn:mpass.id:authnsource:${WILMA_ID}`);
    // Neither the Wilma user id nor its unique id reaches the service or the logs.
    const { cryptid } = wilma.simulator.idsOf('pupil-complete');
    expect(JSON.stringify(claims)).not.toContain(cryptid);
    expect(bridge.logText()).not.toContain(cryptid);
    expect(bridge.logText()).not.toContain('pupil-complete');
  });

  it('maps English Wilma roles with the role vocabulary: a teacher', async () => {
    const agent = new UserAgent('en');
    const { request, page } = await atWilma(agent);
    const done = await agent.navigate(await signInAtWilma(agent, page, 'teacher'), { stopAt: RP_REDIRECT });
    const claims = (await rp.redeem(done.url, request)).claims()!;
    expect(claims[CLAIM.role]).toEqual([expect.stringContaining(';30076;;Opettaja;2;')]);
  });

  it('asks Wilma for a fresh login (forceauth) when the service asks for prompt=login, and Wilma does not skip its form', async () => {
    const agent = new UserAgent('en');
    const first = await atWilma(agent);
    await agent.navigate(await signInAtWilma(agent, first.page, 'pupil-complete'), { stopAt: RP_REDIRECT });
    const { page } = await atWilma(agent, WILMA_ID, { prompt: 'login' });
    expect(new URL(page.url).searchParams.get('forceauth')).toBe('true');
    expect(page.url.indexOf('forceauth=true')).toBeLessThan(page.url.indexOf('&h='));
  });

  it('refuses a callback with a wrong MAC', async () => {
    const agent = new UserAgent('en');
    const { page } = await atWilma(agent);
    const callback = await signInAtWilma(agent, page, 'pupil-complete');
    const mac = callback.slice(-64);
    const wrong = `${callback.slice(0, -64)}${mac[0] === '0' ? '1' : '0'}${mac.slice(1)}`;
    await expectRefused(agent, await agent.navigate(wrong, { stopAt: RP_REDIRECT }), FAULTY_ANSWER);
  });

  it('refuses a callback whose userid was changed (the MAC covers it)', async () => {
    const agent = new UserAgent('en');
    const { page } = await atWilma(agent);
    const callback = await signInAtWilma(agent, page, 'teacher');
    const tampered = callback.replace('userid=teacher', 'userid=pupil-complete');
    expect(tampered).not.toBe(callback);
    await expectRefused(agent, await agent.navigate(tampered, { stopAt: RP_REDIRECT }), FAULTY_ANSWER);
  });

  it('refuses a callback with a parameter after the MAC, or without userid', async () => {
    const agent = new UserAgent('en');
    const { page } = await atWilma(agent);
    const callback = await signInAtWilma(agent, page, 'pupil-complete');
    await expectRefused(agent, await agent.navigate(`${callback}&userid=teacher`, { stopAt: RP_REDIRECT }), FAULTY_ANSWER);

    // Another browser (this one is signed in at Wilma, which would send it straight back).
    const other = new UserAgent('en');
    const second = await atWilma(other);
    const nonce = new URL(new URL(second.page.url).searchParams.get('redirectto')!).searchParams.get('nonce')!;
    await expectRefused(other, await other.navigate(`${callbackOf(WILMA_ID)}?nonce=${nonce}`, { stopAt: RP_REDIRECT }), FAULTY_ANSWER);
  });

  it('refuses a reused callback: once its login is done, and in a later login of the same browser', async () => {
    const agent = new UserAgent('en');
    const { page } = await atWilma(agent);
    const callback = await signInAtWilma(agent, page, 'pupil-complete');
    const done = await agent.navigate(callback, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);

    // The same callback again: its transaction is gone.
    const again = await agent.navigate(callback, { stopAt: RP_REDIRECT });
    expect(again.status).toBe(400);
    expect(textOf(again.body)).toContain(t('en', 'error.directory_transaction_invalid'));

    // In the next login, the old (correctly signed) callback does not carry this login's nonce.
    const next = await atWilma(agent, WILMA_ID, { prompt: 'login' });
    expect(next.page.status).toBe(200);
    await expectRefused(agent, await agent.navigate(callback, { stopAt: RP_REDIRECT }), FAULTY_ANSWER);
  });

  it("refuses another browser's callback (its nonce is not this browser's), and the other browser still signs in", async () => {
    const victim = new UserAgent('en');
    const victimLogin = await atWilma(victim);
    const victimCallback = await signInAtWilma(victim, victimLogin.page, 'pupil-complete');

    const attacker = new UserAgent('en');
    await atWilma(attacker);
    await expectRefused(attacker, await attacker.navigate(victimCallback, { stopAt: RP_REDIRECT }), FAULTY_ANSWER);

    const done = await victim.navigate(victimCallback, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    expect((await rp.redeem(done.url, victimLogin.request)).claims()).toMatchObject(PUPIL_CLAIMS);
  });

  it('refuses the login when the user-data call is refused for its MAC, answers invalid JSON, a non-list, too much, or two users', async () => {
    for (const fault of ['refuse-mac', 'invalid-json', 'not-a-list', 'oversized', 'two-users'] as const) {
      const agent = new UserAgent('en');
      const { page } = await atWilma(agent);
      const callback = await signInAtWilma(agent, page, 'pupil-complete');
      const refused = await withFault(fault, () => agent.navigate(callback, { stopAt: RP_REDIRECT }));
      await expectRefused(agent, refused, FAULTY_ANSWER);
    }
    expect(bridge.logText()).toContain('the Wilma user-data call was answered with HTTP 403');
    expect(bridge.logText()).toContain('the Wilma user-data answer is not JSON');
  });

  it('refuses the login when the user-data call does not answer in time: temporarily_unavailable', async () => {
    const agent = new UserAgent('en');
    const { page } = await atWilma(agent);
    const callback = await signInAtWilma(agent, page, 'pupil-complete');
    const refused = await withFault('hang', () => agent.navigate(callback, { stopAt: RP_REDIRECT }));
    expect(refused.status).toBe(502);
    await expectRefused(agent, refused, t('en', 'error.directory_timeout'), 'temporarily_unavailable');
  });

  it('puts a Wilma of the documented legacy answer through the validation table: no learner number, the login is blocked', async () => {
    const agent = new UserAgent('en');
    const { page } = await atWilma(agent, LEGACY_ID);
    const refused = await agent.navigate(await signInAtWilma(agent, page, 'pupil-complete', LEGACY_ID), { stopAt: RP_REDIRECT });
    expect(textOf(refused.body)).toContain(t('en', 'blocked.learner_id_missing'));
    await expectRefused(agent, refused, t('en', 'error.attributes_blocked').split(':')[0]!);
  });

  it('signs in through the bundled Wilma test directory of the test environment', async () => {
    const agent = new UserAgent('en');
    const request = await rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:test-wilma' });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(login.url.startsWith(`${bridge.issuer}/test-wilma/mpass?`)).toBe(true);
    const done = await agent.submit(login, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' }, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    const claims = (await rp.redeem(done.url, request)).claims()!;
    expect(claims).toMatchObject(PUPIL_CLAIMS);
    expect(claims[CLAIM.originalIssuer]).toBe(`${bridge.issuer}/test-wilma`);
  });

  it('reports health: the base URL reachable, or not', async () => {
    await bridge.bridge.health.checkNow();
    expect(bridge.bridge.health.statusOf(WILMA_ID)).toMatchObject({ status: 'up' });
    expect(bridge.bridge.health.statusOf('test-wilma')).toMatchObject({ status: 'up' });
    const gone = bridge.bridge.health.statusOf(GONE_ID);
    expect(gone).toMatchObject({ status: 'down', lastError: expect.stringContaining('cannot reach http://127.0.0.1:') });
  });

  it('refuses a login request the simulator cannot verify (the simulator checks the bridge as Wilma would)', async () => {
    const agent = new UserAgent('en');
    const forged = await agent.get(
      `${wilma.url}/mpass?redirectto=${encodeURIComponent(`${callbackOf(WILMA_ID)}?nonce=${'a'.repeat(24)}`)}&h=${'0'.repeat(64)}`,
    );
    expect(forged.status).toBe(400);
  });
});

describe('Wilma directory onboarded through the CLI on one instance, used on another without a restart', () => {
  const DIRECTORY_ID = 'city-wilma';
  const citySecret = 'city-wilma-secret-0123456789abcdefgh';
  let instances: TwoInstances;
  let wilma: WilmaServerHandle;
  let a: BridgeHandle;
  let b: BridgeHandle;
  const workDir = mkdtempSync(join(tmpdir(), 'mpassid-wilma-'));

  beforeAll(async () => {
    wilma = await startWilmaServer({ secret: citySecret, users: USERS });
    instances = await startTwoInstances();
    ({ a, b } = instances);
  });

  afterAll(async () => {
    await instances?.stop();
    await wilma?.stop();
  });

  const cli = (args: string[], stdin?: string) => instances.cli(args, stdin);

  it('adds the directory with its secret sealed, prints the Wilma setup, and instance B signs users in through it', async () => {
    const file = join(workDir, 'wilma.json');
    writeFileSync(
      file,
      JSON.stringify({
        type: 'wilma',
        id: DIRECTORY_ID,
        displayName: { fi: 'Kaupungin Wilma', en: 'City Wilma' },
        baseUrl: wilma.url,
        userAttributes: EXTENDED_ATTRIBUTES,
        accounts: 'test',
      }),
    );
    const added = await cli(['directory', 'add', '--file', file, '--client-secret-stdin'], `${citySecret}\n`);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`${DIRECTORY_ID}: added as draft`);

    const shown = await cli(['directory', 'show', DIRECTORY_ID]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`returnUrl: ${a.issuer}/upstream/${DIRECTORY_ID}/callback`);
    expect(shown.stdout).toContain(`loginUrl: ${wilma.url}/mpass`);
    expect(shown.stdout).toContain(`userDataUrl: ${wilma.url}/external/mpass`);
    expect(shown.stdout).toMatch(/sharedSecret: .*HMAC-SHA256/);
    expect(shown.stdout).not.toContain(citySecret);
    const raw = JSON.stringify(await a.storage.durable('registry').get(`directory:${DIRECTORY_ID}`));
    expect(raw).toContain('"kind":"sealed"');
    expect(raw).not.toContain(citySecret);

    expect((await cli(['directory', 'start-testing', DIRECTORY_ID])).code).toBe(0);

    const rp = await instances.service(b);
    const agent = new UserAgent('en');
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${DIRECTORY_ID}` });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(login.url.startsWith(`${wilma.url}/mpass?`)).toBe(true);
    const done = await agent.submit(login, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' }, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    expect((await rp.redeem(done.url, request)).claims()).toMatchObject(PUPIL_CLAIMS);
    for (const bridge of [a, b]) expect(bridge.logText()).not.toContain(citySecret);
  });

  it('runs the attribute check page for the Wilma directory', async () => {
    const { agent, atDirectory: atWilma } = await instances.openCheckAtB(DIRECTORY_ID);
    expect(atWilma.url.startsWith(`${wilma.url}/mpass?`)).toBe(true);
    const result = await agent.submit(atWilma, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' });
    expect(result.status).toBe(200);
    expect(result.body).toMatch(/id="outcome"[^>]*data-outcome="released"/);
    expect(result.body).toMatch(/data-attribute="learnerId" data-status="present"/);
  });

  it('reports the Wilma base URL reachable through the CLI health command', async () => {
    const health = await cli(['directory', 'health']);
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(new RegExp(`^up +${DIRECTORY_ID} `, 'm'));
  });
});
