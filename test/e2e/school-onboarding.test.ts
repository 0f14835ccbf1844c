import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { hashPassword } from '../../src/admin/passwords.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { launchChromium } from '../support/chromium.js';
import { RP_CLIENT, RP_REDIRECT } from '../support/federation.js';
import { listeningHttpServer } from '../support/ports.js';
import { RelyingParty } from '../support/relying-party.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from '../support/directory-idp.js';

const PROVIDERS = 10;
const DIRECTORIES = 50;
const SCHOOLS_PER_DIRECTORY = 100;
/** The page's document as far as these tests read it (the test realm has no DOM types). */
type PageGlobal = { document: { activeElement: { id: string; textContent: string | null } } };
const schoolCode = (i: number): string => String(20000 + i);

/** 5,000 schools in 50 directories of 10 education providers; school i belongs to directory floor(i / 100). */
function federationOfSchools() {
  return Array.from({ length: DIRECTORIES }, (_, d) => ({
    id: `dir-${d}`,
    displayName: { fi: `Hakemisto ${d}`, sv: `Katalog ${d}`, en: `Directory ${d}` },
    provider: { name: { fi: `Kunta ${d % PROVIDERS}`, sv: `Kommun ${d % PROVIDERS}` } },
    // Never contacted: the chooser only lists them.
    issuer: `http://127.0.0.1:9/dir-${d}`,
    clientId: 'bridge',
    clientSecret: 'secret-0123456789',
    // The bridge runs its test environment here, which offers directories of test accounts.
    accounts: 'test' as const,
    schools: Array.from({ length: SCHOOLS_PER_DIRECTORY }, (_, s) => {
      const i = d * SCHOOLS_PER_DIRECTORY + s;
      return { id: schoolCode(i), name: { fi: `Koivikon koulu ${i}`, sv: `Björkby skola ${i}` } };
    }),
  }));
}

describe('the chooser at federation scale, in a browser', () => {
  let bridge: BridgeHandle;
  let browser: Browser;
  let rp: RelyingParty;

  beforeAll(async () => {
    bridge = await startBridge({
      config: { clients: [RP_CLIENT], upstreams: federationOfSchools(), directories: { healthCheckIntervalSeconds: 0 } },
    });
    rp = await RelyingParty.discover({ issuer: bridge.issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.stop();
  });

  async function openChooser(page: Page): Promise<void> {
    await page.goto((await rp.authorizationRequest()).url.href);
    await page.waitForURL(/\/interaction\/[^/]+$/);
  }

  async function results(page: Page): Promise<string[]> {
    return page.locator('#search-results a').evaluateAll((links) => links.map((a) => a.textContent?.replace(/\s+/g, ' ').trim() ?? ''));
  }

  it('lists every school under its education provider and finds one by Finnish name, Swedish name or code', async () => {
    const context = await browser.newContext({ locale: 'fi-FI' });
    const page = await context.newPage();
    await openChooser(page);
    await expect(page.locator('#directories li[data-search]').count()).resolves.toBe(DIRECTORIES * SCHOOLS_PER_DIRECTORY);
    const providers = await page.locator('section.provider h2').allTextContents();
    expect(providers).toEqual(expect.arrayContaining(Array.from({ length: PROVIDERS }, (_, p) => `Kunta ${p}`)));
    // Directory 12 belongs to Kunta 2.
    await expect(page.locator('section.provider', { hasText: 'Kunta 2' }).locator('a.upstream', { hasText: 'Hakemisto 12' }).count()).resolves.toBe(1);

    await page.fill('#school-search', 'koivikon koulu 1234');
    await page.locator('#search-results a').first().waitFor();
    expect(await results(page)).toEqual(['Koivikon koulu 1234 21234 Hakemisto 12']);

    // Swedish, typed without the diacritic.
    await page.fill('#school-search', 'bjorkby skola 2345');
    await page.locator('#search-results a', { hasText: '22345' }).waitFor();
    expect(await results(page)).toEqual(['Koivikon koulu 2345 22345 Hakemisto 23']);

    await page.fill('#school-search', schoolCode(3456));
    await page.locator('#search-results a', { hasText: '23456' }).waitFor();
    expect(await results(page)).toEqual(['Koivikon koulu 3456 23456 Hakemisto 34']);
    await expect(page.locator('#search-status').textContent()).resolves.toBe('1 tulos');

    // A broad query is capped, and says so.
    await page.fill('#school-search', 'koivikon');
    await page.locator('#search-results a').nth(49).waitFor();
    await expect(page.locator('#search-results a').count()).resolves.toBe(50);
    await expect(page.locator('#search-status').textContent()).resolves.toContain('5000');
    await context.close();
  });

  it('is usable with the keyboard alone, and remembers the choice on the device', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await openChooser(page);
    await page.focus('#school-search');
    await page.keyboard.type('Koivikon koulu 4321');
    await page.locator('#search-results a', { hasText: '24321' }).waitFor();
    await page.keyboard.press('ArrowDown');
    await expect(page.evaluate(() => (globalThis as unknown as PageGlobal).document.activeElement.textContent)).resolves.toContain('24321');
    // Escape goes back to the field, which is cleared.
    await page.keyboard.press('Escape');
    await expect(page.evaluate(() => (globalThis as unknown as PageGlobal).document.activeElement.id)).resolves.toBe('school-search');
    await page.keyboard.type('Koivikon koulu 4321');
    await page.locator('#search-results a', { hasText: '24321' }).waitFor();
    await page.keyboard.press('ArrowDown');
    await Promise.all([page.waitForURL(/\/interaction\/[^/]+\/login\/dir-43$/), page.keyboard.press('Enter')]);
    // The directory is not reachable: a readable page, not a crash.
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign-in failed');

    await openChooser(page);
    await expect(page.locator('#last-choice').getAttribute('data-directory')).resolves.toBe('dir-43');
    await expect(page.locator('#last-choice').textContent()).resolves.toContain('Directory 43');
    await context.close();
  });

  it('searches on the server when scripts are off', async () => {
    const context = await browser.newContext({ locale: 'sv-FI', javaScriptEnabled: false });
    const page = await context.newPage();
    await openChooser(page);
    await page.fill('#school-search', 'Björkby skola 777');
    await Promise.all([page.waitForURL(/[?&]q=/), page.press('#school-search', 'Enter')]);
    expect(await results(page)).toEqual(['Björkby skola 777 20777 Katalog 7']);
    await expect(page.locator('#search-status').textContent()).resolves.toBe('1 träff');
    await context.close();
  });
});

describe('the attribute check page of a directory in testing, in a browser', () => {
  const OPERATOR = { username: 'operator', password: 'operator-password-0123456789' };
  const AUTH = `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`;
  let directoryIdp: DirectoryIdpHandle;
  let bridge: BridgeHandle;
  let browser: Browser;
  let link: string;

  async function admin(method: string, path: string, body: unknown) {
    const response = await fetch(`${bridge.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  beforeAll(async () => {
    // The bridge's server listens first: the directory is told its callback, which names the port.
    const { server, port } = await listeningHttpServer();
    directoryIdp = await startDirectoryIdp({ redirectUris: [`http://127.0.0.1:${port}/upstream/city/callback`] });
    bridge = await startBridge({
      server,
      config: {
        admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
        directories: { healthCheckIntervalSeconds: 0 },
      },
    });
    const created = await admin('POST', '/directories', {
      id: 'city',
      displayName: { fi: 'Kaupungin koulut', en: 'City schools' },
      issuer: directoryIdp.issuer,
      clientId: directoryIdp.clientId,
      clientSecret: directoryIdp.clientSecret,
    });
    expect(created.status).toBe(201);
    expect((await admin('POST', '/directories/city/start-testing', {})).status).toBe(200);
    const issued = await admin('POST', '/directories/city/check-links', { note: 'city admin' });
    expect(issued.status).toBe(201);
    link = issued.body.url as string;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.stop();
    await directoryIdp?.stop();
  });

  async function check(username: string): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(link);
    await expect(page.locator('#directory-name').textContent()).resolves.toBe('City schools');
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('#start-check')]);
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', `${username}pwd`);
    await Promise.all([page.waitForURL(/\/directory-check\/[^/]+\/result\//), page.click('button[value="login"]')]);
    // Nothing went to any service: the browser has no session at the bridge.
    const cookies = await context.cookies(bridge.issuer);
    expect(cookies.map((c) => c.name).filter((name) => /^mpass_.*(session|interaction)/.test(name))).toEqual([]);
    return page;
  }

  const cell = (page: Page, table: string, key: string, row: string, column: number) =>
    page.locator(`#${table} tr[data-${key}="${row}"] td`).nth(column).textContent();

  it('shows every attribute and claim of a valid test user as OK, with the values', async () => {
    const page = await check('pupil-complete');
    await expect(page.locator('#outcome').getAttribute('data-outcome')).resolves.toBe('released');
    await expect(page.locator('#outcome').textContent()).resolves.toContain('The login would succeed');
    await expect(cell(page, 'attributes', 'attribute', 'learnerId', 1)).resolves.toContain('1.2.246.562.24.');
    await expect(cell(page, 'attributes', 'attribute', 'learnerId', 2)).resolves.toBe('OK');
    await expect(cell(page, 'claims', 'claim', 'urn:mpass.id:schoolCode', 0)).resolves.toContain('30076');
    await expect(cell(page, 'claims', 'claim', 'urn:mpass.id:schoolCode', 1)).resolves.toBe('OK');
    const statuses = await page.locator('#claims tr[data-claim]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(new Set(statuses)).toEqual(new Set(['ok']));
    await expect(page.locator('#recorded').count()).resolves.toBe(1);
  });

  it('shows a blocked user with the missing attribute and the rule that failed', async () => {
    const page = await check('blocked-no-learner-id');
    await expect(page.locator('#outcome').getAttribute('data-outcome')).resolves.toBe('blocked');
    await expect(page.locator('#outcome').textContent()).resolves.toContain('learner_id_missing');
    await expect(cell(page, 'attributes', 'attribute', 'learnerId', 2)).resolves.toBe('Missing');
    await expect(cell(page, 'claims', 'claim', 'urn:mpass.id:schoolCode', 1)).resolves.toBe('Not released');
    await expect(cell(page, 'claims', 'claim', 'urn:mpass.id:schoolCode', 2)).resolves.toContain('learnerId');
  });

  it('shows invalid and missing optional attributes with the claims they cost', async () => {
    const page = await check('bad-charge');
    await expect(page.locator('#outcome').getAttribute('data-outcome')).resolves.toBe('released');
    await expect(cell(page, 'claims', 'claim', 'urn:mpass.id:learningMaterialsCharge', 1)).resolves.toBe('Invalid');
    await expect(cell(page, 'claims', 'claim', 'urn:mpass.id:learningMaterialsCharge', 2)).resolves.toContain('Exactly 0 (free) or 1 (charged)');
    await expect(cell(page, 'claims', 'claim', 'urn:mpass.id:schoolCode', 1)).resolves.toBe('OK');

    const evidence = (await (await fetch(`${bridge.issuer}/admin/api/directories/city`, { headers: { authorization: AUTH } })).json()) as {
      evidence: Array<{ outcome: string }>;
    };
    expect(evidence.evidence.map((e) => e.outcome)).toEqual(['released', 'blocked', 'released']);
  });
});
