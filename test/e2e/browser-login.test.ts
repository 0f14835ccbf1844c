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
    const choice = page.locator('a.upstream', { hasText: 'Mansikkalan testikoulu' });
    await expect(choice.count()).resolves.toBe(1);
    await Promise.all([page.waitForURL(/\/test-directory\//), choice.click()]);

    await page.fill('input[name="username"]', 'demo_u0001');
    await page.fill('input[name="password"]', 'demo_u0001pwd');
    await Promise.all([page.waitForURL(/\/attribute-test\/callback/), page.click('button[type="submit"][value="login"], button[type="submit"]:not([value="cancel"])')]);

    // Every claim the service received is listed.
    const claims = await page.locator('tr[data-claim]').evaluateAll((rows) =>
      rows.map((row) => row.getAttribute('data-claim')),
    );
    expect(claims).toEqual(expect.arrayContaining(['sub', 'given_name', 'family_name', 'urn:mpass.id:uid', 'iss', 'aud']));
    const uid = await page.locator('tr[data-claim="urn:mpass.id:uid"] .value').first().textContent();
    expect(uid).toMatch(/^MPASSOID\.[0-9a-f]{40}$/);

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
});
