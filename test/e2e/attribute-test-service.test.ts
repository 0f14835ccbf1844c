import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { launchChromium } from '../support/chromium.js';

/** Trying test user after test user on the attribute test service, without clearing cookies. */
describe('the attribute test service: sign out, and sign in as another user', () => {
  let bridge: BridgeHandle;
  let browser: Browser;

  beforeAll(async () => {
    bridge = await startBridge({ config: { directories: { healthCheckIntervalSeconds: 0 } } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.stop();
  });

  async function signIn(page: Page, username: string): Promise<void> {
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', `${username}pwd`);
    await Promise.all([page.waitForURL(/\/attribute-test$/), page.click('button[value="login"]')]);
  }

  const uidOf = (page: Page) => page.locator('tr[data-claim="urn:mpass.id:uid"] .value').first().textContent();
  const roleOf = (page: Page) => page.locator('tr[data-claim="urn:mpass.id:role"] .value').first().textContent();

  it('switches to another user with a new login at the school, and signs out of MPASSid', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test`);
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('#signin')]);
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('a.upstream[data-directory="test-school"]')]);
    await signIn(page, 'pupil-complete');
    const pupil = await uidOf(page);
    expect(await roleOf(page)).toContain('Oppilas');
    // The page is the service's own: it can be reloaded and read in another language.
    await page.reload();
    await expect(uidOf(page)).resolves.toBe(pupil);

    // Another user: straight to the same school, where the sign-in form is shown although the school has a session.
    await Promise.all([page.waitForURL(/\/test-directory\/interaction\//), page.click('#switch-user')]);
    await expect(page.locator('input[name="username"]').count()).resolves.toBe(1);
    await signIn(page, 'teacher');
    const teacher = await uidOf(page);
    expect(teacher).not.toBe(pupil);
    expect(await roleOf(page)).toContain('Opettaja');

    // Signing out ends the MPASSid session (RP-initiated logout) and comes back to the service.
    await Promise.all([page.waitForURL(/\/session\/end/), page.click('#signout')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign out');
    await Promise.all([page.waitForURL(/\/attribute-test\?/), page.click('button[value="yes"]')]);
    await expect(page.locator('#signed-out').textContent()).resolves.toBe('You have signed out.');
    await expect(page.locator('tr[data-claim]').count()).resolves.toBe(0);
    const bridgeCookies = (await context.cookies(bridge.issuer)).map((c) => c.name);
    expect(bridgeCookies).not.toContain('mpass_attrtest_session');

    // Signing in again asks which school: no session was left to reuse.
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('#signin')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Choose your school');
    await context.close();
  });

  it('after a failed login offers another user, and shows the error the service received with its description', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test/login?upstream=test-school`);
    await page.waitForURL(/\/test-directory\//);
    // The user cancels at the school.
    await Promise.all([page.waitForURL(/\/complete$/), page.click('button[value="cancel"]')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign-in cancelled');
    await expect(page.locator('p.error-message').textContent()).resolves.toBe("The sign-in was cancelled on your school's sign-in page.");
    await Promise.all([page.waitForURL(/\/attribute-test$/), page.click('#continue')]);
    await expect(page.locator('#error-code').textContent()).resolves.toBe('access_denied');
    await expect(page.locator('#error-description').textContent()).resolves.toBe('the school directory did not authenticate the user');
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('#switch-user')]);
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('a.upstream[data-directory="test-school"]')]);
    await signIn(page, 'pupil-complete');
    await expect(page.locator('#login-error').count()).resolves.toBe(0);
    await expect(page.locator('tr[data-claim="urn:mpass.id:uid"]').getAttribute('data-status')).resolves.toBe('delivered');
    await context.close();
  });
});
