import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { hashPassword } from '../../src/admin/passwords.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { launchChromium } from '../support/chromium.js';
import { onFreePort } from '../support/ports.js';

/**
 * examples/relying-party as docs/onboarding.md runs it on one machine: a freshly started bridge of
 * the quick start (test environment, bundled test school) with a local operator, an initial access
 * token from the admin API (what `npm run admin -- issue-token` calls), and the example registering
 * itself with loopback redirect URIs, signing in, reading userinfo, refreshing once allowed, and
 * signing out.
 */
const OPERATOR = { username: 'local', password: 'local-operator-password-0123' };
const AUTH = `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`;

describe('the example relying party against a freshly started bridge', () => {
  let bridge: BridgeHandle;
  let browser: Browser;
  let example: ChildProcess;
  let exampleUrl: string;
  let output = '';
  const dir = mkdtempSync(join(tmpdir(), 'example-rp-'));

  async function admin(method: string, path: string, body: unknown) {
    const response = await fetch(`${bridge.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  beforeAll(async () => {
    bridge = await startBridge({
      config: {
        admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
        directories: { healthCheckIntervalSeconds: 0 },
      },
    });
    // The example is told its port (PORT; its redirect URIs name it): picked first, and another if it
    // exits because the port was taken meanwhile (EADDRINUSE), with a new token and registration file,
    // as the first try registered itself with the old port.
    exampleUrl = await onFreePort(async (port) => {
      const issued = await admin('POST', '/initial-access-tokens', { note: 'example relying party' });
      expect(issued.status).toBe(201);
      output = '';
      example = spawn(process.execPath, ['examples/relying-party/server.mjs'], {
        env: {
          ...process.env,
          MPASSID_ISSUER: bridge.issuer,
          PORT: String(port),
          MPASSID_INITIAL_ACCESS_TOKEN: issued.body.initialAccessToken,
          REGISTRATION_FILE: join(dir, `registration-${port}.json`),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Ready when it says so (or gone, with what it wrote: 'close' comes after its output is read).
      return new Promise<string>((done, fail) => {
        example.stdout!.on('data', (chunk) => {
          output += String(chunk);
          const match = /listening at (\S+)/.exec(output);
          if (match) done(match[1]!);
        });
        example.stderr!.on('data', (chunk) => (output += String(chunk)));
        example.on('close', (code) => fail(new Error(`example exited (${code}): ${output}`)));
      });
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    example?.kill();
    await browser?.close();
    await bridge?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signInAtTestSchool(page: Page, username: string, link = '#login-school'): Promise<void> {
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click(link)]);
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', `${username}pwd`);
    await Promise.all([page.waitForURL(`${exampleUrl}`), page.click('button[value="login"]')]);
  }

  it('registers itself, signs a user in with acr_values, reads userinfo, refreshes once allowed and signs out', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(exampleUrl);
    const clientId = await page.locator('#client-id').textContent();
    expect(clientId).toMatch(/^[0-9a-f]+$/);

    await signInAtTestSchool(page, 'pupil-complete');
    const idToken = JSON.parse((await page.locator('#id-token').textContent())!) as Record<string, unknown>;
    const userinfo = JSON.parse((await page.locator('#userinfo').textContent())!) as Record<string, unknown>;
    expect(idToken.acr).toBe('urn:mpass.id:authnsource:test-school');
    expect(idToken.sub).toBe(userinfo.sub);
    // The test learner numbers of the test school reach only services allowed them: this one got the rest.
    expect(userinfo['urn:mpass.id:uid']).toMatch(/^MPASSOID\./);
    await expect(page.locator('#has-refresh').textContent()).resolves.toContain('no');

    // Refresh tokens: refused until the operators allow them, then the service adds the grant type (RFC 7592).
    await page.click('#enable-refresh');
    await expect(page.locator('#notice').textContent()).resolves.toContain('refresh_token is not allowed');
    expect((await admin('PATCH', `/clients/${clientId}/settings`, { refreshTokens: true, reason: 'example' })).status).toBe(200);
    await page.click('#enable-refresh');
    await expect(page.locator('#notice').textContent()).resolves.toContain('Refresh tokens enabled');

    // Sign out (RP-initiated logout), then in again as another user (prompt=login: the school still
    // has its own session), now with a refresh token.
    await Promise.all([page.waitForURL(/\/session\/end/), page.click('#logout')]);
    await Promise.all([page.waitForURL(`${exampleUrl}`), page.click('button[value="yes"]')]);
    await expect(page.locator('#login').count()).resolves.toBe(1);
    await signInAtTestSchool(page, 'teacher', '#login-other');
    expect(JSON.parse((await page.locator('#userinfo').textContent())!)['urn:mpass.id:role']).toEqual([expect.stringContaining('Opettaja')]);
    await expect(page.locator('#has-refresh').textContent()).resolves.toBe('yes');
    await page.click('#refresh');
    await expect(page.locator('#notice').textContent()).resolves.toBe('Access token refreshed.');
    await expect(page.locator('#signed-in').count()).resolves.toBe(1);
    await context.close();
  });
});
