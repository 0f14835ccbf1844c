import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Response } from 'playwright-core';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { launchChromium } from '../support/chromium.js';

describe('a person signing in with a browser', () => {
  let bridge: BridgeHandle;
  let browser: Browser;

  beforeAll(async () => {
    bridge = await startBridge();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.stop();
  });

  it('clicks through the attribute test service, the chooser and the test school login', async () => {
    const context = await browser.newContext({ locale: 'fi-FI' });
    const page = await context.newPage();
    const htmlResponses: Response[] = [];
    page.on('response', (response) => {
      if ((response.headers()['content-type'] ?? '').includes('text/html')) htmlResponses.push(response);
    });

    await page.goto(`${bridge.issuer}/attribute-test`);
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('#signin')]);

    // The chooser lists the bundled test school.
    expect(await page.locator('h1').textContent()).toBe('Valitse koulusi');
    const choice = page.locator('a.upstream[data-directory="test-school"]', { hasText: 'Mansikkalan testikoulu' });
    await expect(choice.count()).resolves.toBe(1);
    await Promise.all([page.waitForURL(/\/test-directory\//), choice.click()]);

    await page.fill('input[name="username"]', 'pupil-complete');
    await page.fill('input[name="password"]', 'pupil-completepwd');
    await Promise.all([page.waitForURL(/\/attribute-test$/), page.click('button[value="login"]')]);

    // Every claim the service received is listed.
    const claims = await page.locator('tr[data-claim]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-claim')));
    expect(claims).toEqual(expect.arrayContaining(['sub', 'given_name', 'family_name', 'urn:mpass.id:uid', 'iss', 'aud']));
    const uid = await page.locator('tr[data-claim="urn:mpass.id:uid"] .value').first().textContent();
    expect(uid).toMatch(/^MPASSOID\.[0-9a-f]{40}$/);
    // A complete pupil: every MPASSid claim delivered, every rule passed.
    await expect(page.locator('tr[data-status="not-delivered"]').count()).resolves.toBe(0);
    const outcomes = await page.locator('tr[data-rule]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-outcome')));
    expect(outcomes.length).toBeGreaterThanOrEqual(8);
    expect(new Set(outcomes)).toEqual(new Set(['ok']));

    // Every HTML page on the way carried the anti-framing and privacy headers.
    const pages = htmlResponses.map((r) => new URL(r.url()).pathname);
    expect(pages).toEqual(expect.arrayContaining(['/attribute-test', expect.stringMatching(/^\/interaction\//)]));
    for (const response of htmlResponses) {
      const headers = response.headers();
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['referrer-policy']).toBe('no-referrer');
      expect(headers['cache-control']).toContain('no-store');
    }
    await context.close();
  });

  it('shows which claims were withheld and the rule that withheld them', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test/login?upstream=test-school`);
    await page.waitForURL(/\/test-directory\//);
    await page.fill('input[name="username"]', 'guardian-role');
    await page.fill('input[name="password"]', 'guardian-rolepwd');
    await Promise.all([page.waitForURL(/\/attribute-test$/), page.click('button[value="login"]')]);
    await expect(page.locator('tr[data-claim="urn:mpass.id:role"]').getAttribute('data-status')).resolves.toBe('not-delivered');
    await expect(page.locator('tr[data-claim="urn:mpass.id:learningMaterialsCharge"]').getAttribute('data-status')).resolves.toBe('delivered');
    await expect(page.locator('tr[data-rule="roles"]').getAttribute('data-outcome')).resolves.toBe('invalid');
    expect(await page.locator('tr[data-rule="roles"]').textContent()).toContain('urn:mpass.id:role');
    await context.close();
  });

  it('explains a blocked login on a readable page', async () => {
    const context = await browser.newContext({ locale: 'sv-FI' });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test/login?upstream=test-school`);
    await page.waitForURL(/\/test-directory\//);
    await page.fill('input[name="username"]', 'blocked-no-learner-id');
    await page.fill('input[name="password"]', 'blocked-no-learner-idpwd');
    await Promise.all([page.waitForURL(/\/complete$/), page.click('button[value="login"]')]);
    expect(await page.locator('p.error-message').textContent()).toContain('elevnummer');
    await Promise.all([page.waitForURL(/\/attribute-test$/), page.click('a.button')]);
    expect(await page.locator('#error-code').textContent()).toBe('access_denied');
    await context.close();
  });
});
