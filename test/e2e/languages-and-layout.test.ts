import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { hashPassword } from '../../src/admin/passwords.js';
import { LOCALES, MESSAGES, type Locale } from '../../src/http/i18n.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { launchChromium } from '../support/chromium.js';
import { RP_CLIENT, RP_REDIRECT } from '../support/federation.js';
import { RelyingParty } from '../support/relying-party.js';

/**
 * Issue 13, as a person meets it in Chromium: the language holds for the whole login and every page
 * is in it, plural forms, the chooser's instant search, focus indicators and phone widths.
 */

const OPERATOR = { username: 'operator', password: 'operator-password-0123456789' };
const AUTH = `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`;

/** The page's document as these tests read it (the test realm has no DOM types). */
type El = {
  tagName: string;
  textContent: string | null;
  parentElement: El | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  cloneNode(deep: boolean): El;
  remove(): void;
  matches(selector: string): boolean;
};
type Doc = {
  documentElement: El & { lang: string; scrollWidth: number; clientWidth: number };
  body: El;
  title: string;
  activeElement: El | null;
  querySelector(s: string): El | null;
};
type Win = { document: Doc; getComputedStyle(el: El): Record<string, string> };

/**
 * What a person reads on the page in its language: text and labels, without protocol data (code),
 * claim values, and parts marked as another language (the language links, the test school's
 * protocol error in English).
 */
async function readableText(page: Page): Promise<{ lang: string; text: string }> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as Win;
    const lang = document.documentElement.lang;
    const body = document.body.cloneNode(true);
    for (const el of Array.from(body.querySelectorAll('code, .value, script, style'))) el.remove();
    for (const el of Array.from(body.querySelectorAll('[lang]'))) if (el.getAttribute('lang') !== lang) el.remove();
    const labels = Array.from(document.body.querySelectorAll('[aria-label], [data-label]')).map(
      (el) => `${el.getAttribute('aria-label') ?? ''} ${el.getAttribute('data-label') ?? ''}`,
    );
    return { lang, text: [document.title, body.textContent ?? '', ...labels].join('\n').replace(/\s+/g, ' ') };
  });
}

/** Texts that must not appear on a page in `locale`: every other language's version of our texts, in pieces around {values}. */
function foreignTexts(locale: Locale): string[] {
  const own = Object.values(MESSAGES).map((m) => m[locale]);
  const users = (['config/test-users.json', 'config/demo-users.json'] as const).flatMap((file) =>
    (JSON.parse(readFileSync(file, 'utf8')) as { users: Array<{ description: Record<string, string> }> }).users.map((u) => u.description),
  );
  const directoryNames = [{ fi: 'Mansikkalan testikoulu', sv: 'Mansikkala testskola', en: 'Mansikkala test school' }];
  const all = [...Object.values(MESSAGES), ...users, ...directoryNames] as Array<Record<string, string>>;
  const pieces = all.flatMap((texts) =>
    LOCALES.filter((other) => other !== locale && texts[other] && texts[other] !== texts[locale]).flatMap((other) =>
      texts[other]!.split(/\{\w+\}/).map((p) => p.trim()),
    ),
  );
  // Words every language shares (OK, MPASSid, userinfo, an OID) are not a sign of the wrong language.
  return [...new Set(pieces)].filter((p) => p.length >= 4 && /\p{L}/u.test(p) && !own.some((text) => text.includes(p)));
}

async function expectOnlyLanguage(page: Page, locale: Locale, where: string): Promise<void> {
  const { lang, text } = await readableText(page);
  expect(`${where}: ${lang}`).toBe(`${where}: ${locale}`);
  const found = foreignTexts(locale).filter((p) => text.includes(p));
  expect(`${where}: ${found.join(' | ')}`).toBe(`${where}: `);
  // Outcomes and states as codes (ok, none, missing, dropped, testing) are not words of the page.
  expect(`${where}: ${text.match(/\b(ok|none|missing|dropped|testing|delivered without|not-released)\b/g)?.join(', ') ?? ''}`).toBe(`${where}: `);
}

async function expectNoHorizontalOverflow(page: Page, where: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => {
    const root = (globalThis as unknown as Win).document.documentElement;
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
  });
  expect(`${where}: ${scrollWidth}`).toBe(`${where}: ${clientWidth}`);
}

async function signInAtTestSchool(page: Page, username: string, until: RegExp): Promise<void> {
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', `${username}pwd`);
  await Promise.all([page.waitForURL(until), page.click('button[value="login"]')]);
}

describe('the language of a login, and every page in it', () => {
  let bridge: BridgeHandle;
  let browser: Browser;
  let rp: RelyingParty;

  beforeAll(async () => {
    bridge = await startBridge({
      config: {
        clients: [RP_CLIENT],
        admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
        directories: { healthCheckIntervalSeconds: 0 },
      },
    });
    rp = await RelyingParty.discover({ issuer: bridge.issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.stop();
  });

  it('keeps the language chosen on the chooser through the school, the blocked page and back at the service', async () => {
    const context = await browser.newContext({ locale: 'fi-FI' });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test`);
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('fi');
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('#signin')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Valitse koulusi');

    await Promise.all([page.waitForURL(/lang=sv/), page.click('nav.languages a[lang="sv"]')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Välj din skola');
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('a.upstream[data-directory="test-school"]')]);
    // The school's sign-in page was asked for Swedish.
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('sv');
    await signInAtTestSchool(page, 'blocked-no-learner-id', /\/complete$/);

    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('sv');
    await expect(page.locator('p.error-message').textContent()).resolves.toContain('elevnummer');
    // The next step names who can fix it, in which directory, and the reference to give them.
    await expect(page.locator('#next-step').textContent()).resolves.toContain('Mansikkala testskola');
    await expect(page.locator('p.reference code').textContent()).resolves.toMatch(/^[0-9A-Z]{10}$/);
    // The page can be shown again (reloaded, or in another language) until it is handed to the service.
    await page.reload();
    await expect(page.locator('#next-step').textContent()).resolves.toContain('Mansikkala testskola');

    await Promise.all([page.waitForURL(/\/attribute-test$/), page.click('#continue')]);
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('sv');
    await expect(page.locator('#error-code').textContent()).resolves.toBe('access_denied');
    await expect(page.locator('#error-description').textContent()).resolves.toContain('required user information');
    await expect(page.locator('#login-error').textContent()).resolves.toContain('Inloggningen avbröts eller godkändes inte.');

    // A new login of a service that asks for English is in English: the choice of the earlier login does not outrank it.
    await page.goto((await rp.authorizationRequest({ ui_locales: 'en' })).url.href);
    await expect(page.locator('h1').textContent()).resolves.toBe('Choose your school');
    // Without ui_locales, the person's choice outranks the browser's Finnish.
    await page.goto((await rp.authorizationRequest()).url.href);
    await expect(page.locator('h1').textContent()).resolves.toBe('Välj din skola');
    await context.close();
  });

  it("reads the browser's preference by q-value", async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { 'accept-language': 'de;q=1, en;q=0.5, sv;q=0.9, fi;q=0' } });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test`);
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('sv');
    await context.close();
  });

  it('shows every page in Swedish without a Finnish or English text, and none wider than a 320 px screen', async () => {
    const context = await browser.newContext({ locale: 'sv-FI', viewport: { width: 320, height: 640 } });
    const page = await context.newPage();
    const check = async (where: string): Promise<void> => {
      await expectOnlyLanguage(page, 'sv', where);
      await expectNoHorizontalOverflow(page, where);
    };

    await page.goto(`${bridge.issuer}/attribute-test`);
    await check('attribute test service');
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('#signin')]);
    await check('chooser');
    await page.fill('#school-search', 'mansik');
    await page.locator('#search-results a').first().waitFor();
    await check('chooser, instant search');
    await page.fill('#school-search', 'inget sådant');
    await page.locator('#search-status', { hasText: 'Sökningen gav inga träffar' }).waitFor();
    await check('chooser, nothing found');
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('a.upstream[data-directory="test-school"]')]);
    await check('test school login');
    await page.fill('input[name="username"]', 'pupil-complete');
    await page.fill('input[name="password"]', 'wrong');
    await page.click('button[value="login"]');
    await page.locator('#login-error').waitFor();
    await check('test school, wrong password');
    await signInAtTestSchool(page, 'blocked-no-learner-id', /\/complete$/);
    await check('blocked login');
    await Promise.all([page.waitForURL(/\/attribute-test$/), page.click('#continue')]);
    await check('attribute test service, failed login');

    // The school still has blocked-no-learner-id signed in: another user needs a new login there.
    await Promise.all([page.waitForURL(/\/interaction\//), page.click('#switch-user')]);
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('a.upstream[data-directory="test-school"]')]);
    await signInAtTestSchool(page, 'pupil-two-schools', /\/attribute-test$/);
    await page.locator('tr[data-claim]').first().waitFor();
    await check('attribute test service, claims');
    await Promise.all([page.waitForURL(/\/session\/end/), page.click('#signout')]);
    await check('sign-out question');
    await Promise.all([page.waitForURL(/\/attribute-test\?/), page.click('button[value="yes"]')]);
    await check('signed out');

    await page.goto(`${bridge.issuer}/no-such-page`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sidan hittades inte');
    await check('page not found');
    await page.goto(`${bridge.issuer}/auth?client_id=no-such-service&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(RP_REDIRECT)}`);
    await check('sign-in request not valid');

    const issued = await fetch(`${bridge.issuer}/admin/api/directories/test-school/check-links`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'issue 13' }),
    });
    expect(issued.status).toBe(201);
    const link = ((await issued.json()) as { url: string }).url;
    await page.goto(link);
    await check('directory check');
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('#start-check')]);
    await signInAtTestSchool(page, 'bad-charge', /\/result\//);
    await check('directory check result');
    await signInAgainAndBlock(page, link);
    await check('directory check result, blocked');
    await page.goto(`${link}x`);
    await check('directory check, invalid link');
    await context.close();
  });

  it('would notice: the same check finds English texts on an English page', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test`);
    const { text } = await readableText(page);
    expect(foreignTexts('sv').filter((p) => text.includes(p))).toEqual(expect.arrayContaining(['Attribute test service', 'Sign in with MPASSid']));
    await context.close();
  });

  async function signInAgainAndBlock(page: Page, link: string): Promise<void> {
    await page.goto(link);
    await Promise.all([page.waitForURL(/\/test-directory\//), page.click('#start-check')]);
    await signInAtTestSchool(page, 'blocked-bad-learner-id', /\/result\//);
    await expect(page.locator('#outcome').getAttribute('data-outcome')).resolves.toBe('blocked');
  }

  it('lays the claims out for a phone at 390 px: the page no wider than the screen, every status in view', async () => {
    const context = await browser.newContext({ locale: 'fi-FI', viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(`${bridge.issuer}/attribute-test/login?upstream=test-school`);
    await page.waitForURL(/\/test-directory\//);
    await signInAtTestSchool(page, 'pupil-two-schools', /\/attribute-test$/);
    await expectNoHorizontalOverflow(page, 'claims at 390 px');
    const outside = await page
      .locator('tr[data-claim] td')
      .evaluateAll(
        (cells) => cells.filter((cell) => (cell as unknown as { getBoundingClientRect(): { right: number } }).getBoundingClientRect().right > 390).length,
      );
    expect(outside).toBe(0);
    // A value breaks at its ; and . rather than every few characters: the learner number stays on one line.
    const learnerNumber = page.locator('tr[data-claim="urn:oid:1.3.6.1.4.1.16161.1.1.27"] .value').first();
    const box = await learnerNumber.boundingBox();
    const lineHeight = await learnerNumber.evaluate((el) => parseFloat((globalThis as unknown as Win).getComputedStyle(el as unknown as El).lineHeight));
    expect(box!.height).toBeLessThan(lineHeight * 1.5);
    await context.close();
  });
});

describe('plural forms, the instant search and focus indicators on the chooser', () => {
  let bridge: BridgeHandle;
  let browser: Browser;
  let rp: RelyingParty;

  beforeAll(async () => {
    bridge = await startBridge({
      config: {
        clients: [RP_CLIENT],
        testDirectory: { enabled: false },
        directories: { healthCheckIntervalSeconds: 0 },
        upstreams: [
          {
            id: 'aland',
            displayName: { fi: 'Ahvenanmaan koulut', sv: 'Ålands skolor', en: 'Åland schools' },
            provider: { name: { fi: 'Öljymäen kunta', sv: 'Öljymäki kommun', en: 'Öljymäki municipality' } },
            issuer: 'http://127.0.0.1:9/aland',
            clientId: 'bridge',
            clientSecret: 'secret-0123456789',
            accounts: 'test',
            schools: [{ id: '11111', name: { fi: 'Koivikon koulu', sv: 'Björkby skola', en: 'Koivikko school' } }],
          },
          {
            id: 'haapala',
            displayName: { fi: 'Pohjoisen hakemisto', sv: 'Norra katalogen', en: 'Northern directory' },
            issuer: 'http://127.0.0.1:9/haapala',
            clientId: 'bridge',
            clientSecret: 'secret-0123456789',
            accounts: 'test',
            schools: [
              { id: '22221', name: { fi: 'Haapalan koulu', sv: 'Aspby skola', en: 'Haapala school' } },
              { id: '22222', name: { fi: 'Haapalan lukio', sv: 'Aspby gymnasium', en: 'Haapala upper secondary' } },
            ],
          },
        ],
      },
    });
    rp = await RelyingParty.discover({ issuer: bridge.issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.stop();
  });

  async function openChooser(context: BrowserContext, lang?: Locale): Promise<Page> {
    const page = await context.newPage();
    await page.goto((await rp.authorizationRequest(lang ? { ui_locales: lang } : {})).url.href);
    await page.waitForURL(/\/interaction\/[^/]+$/);
    return page;
  }

  const EXPECTED: Record<Locale, { one: string; two: string; school: string; schools: string }> = {
    fi: { one: '1 tulos', two: '2 tulosta', school: '1 koulu', schools: '2 koulua' },
    sv: { one: '1 träff', two: '2 träffar', school: '1 skola', schools: '2 skolor' },
    en: { one: '1 result', two: '2 results', school: '1 school', schools: '2 schools' },
  };

  it.each(LOCALES)('counts 1 and 2 in the plural forms of %s, with and without scripts', async (lang) => {
    const context = await browser.newContext();
    const page = await openChooser(context, lang);
    const summaries = await page.locator('details summary').allTextContents();
    expect(summaries.map((s) => s.trim()).sort()).toEqual([EXPECTED[lang].school, EXPECTED[lang].schools].sort());
    await page.fill('#school-search', 'koivikon');
    await page.locator('#search-status', { hasText: EXPECTED[lang].one }).waitFor();
    await expect(page.locator('#search-status').textContent()).resolves.toBe(EXPECTED[lang].one);
    await page.fill('#school-search', 'haapalan');
    await page.locator('#search-status', { hasText: EXPECTED[lang].two }).waitFor();
    await expect(page.locator('#search-results a').count()).resolves.toBe(2);
    await context.close();

    const noScript = await browser.newContext({ javaScriptEnabled: false });
    const server = await openChooser(noScript, lang);
    await server.fill('#school-search', 'koivikon');
    await Promise.all([server.waitForURL(/[?&]q=/), server.press('#school-search', 'Enter')]);
    await expect(server.locator('#search-status').textContent()).resolves.toBe(EXPECTED[lang].one);
    await noScript.close();
  });

  it("finds a directory by its name or its education provider's, typed without å, ä, ö, as the server search does", async () => {
    const context = await browser.newContext({ locale: 'fi-FI' });
    const page = await openChooser(context);
    for (const [query, expected] of [
      ['alands', 'Ahvenanmaan koulut'],
      ['AHVENANMAAN KOULUT', 'Ahvenanmaan koulut'],
      ['oljymaen', 'Ahvenanmaan koulut'],
      ['pohjoisen hak', 'Pohjoisen hakemisto'],
    ] as const) {
      await page.fill('#school-search', query);
      await page.locator('#search-results a.directory-result', { hasText: expected }).waitFor();
      await expect(page.locator('#search-results a.directory-result').first().getAttribute('href')).resolves.toMatch(/\/login\/(aland|haapala)$/);
    }
    // Enter searches on the server, with the same result.
    await page.fill('#school-search', 'oljymaen');
    await Promise.all([page.waitForURL(/[?&]q=/), page.press('#school-search', 'Enter')]);
    await expect(page.locator('#search-results a.directory-result').allTextContents()).resolves.toEqual([expect.stringContaining('Ahvenanmaan koulut')]);
    await context.close();
  });

  /** WCAG relative luminance contrast of two rgb()/rgba() colours. */
  function contrast(a: string, b: string): number {
    const luminance = (color: string): number => {
      const [r, g, bl] = (color.match(/[\d.]+/g) ?? [])
        .slice(0, 3)
        .map(Number)
        .map((v) => {
          const c = v / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
    };
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi! + 0.05) / (lo! + 0.05);
  }

  it('draws every focus indicator at 3:1 or more against what surrounds it, reached with the keyboard', async () => {
    const context = await browser.newContext({ locale: 'fi-FI' });
    const page = await openChooser(context);
    await page.click('details summary >> nth=0');
    await page.fill('#school-search', 'haapalan');
    await page.locator('#search-results a').first().waitFor();
    // Start from the top of the page and Tab through every control.
    await page.evaluate(() => ((globalThis as unknown as Win).document.activeElement as unknown as { blur(): void } | null)?.blur());
    await page.keyboard.press('Tab');
    const seen = new Map<string, { ratio: number; width: number }>();
    for (let step = 0; step < 40; step += 1) {
      const focus = await page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as unknown as Win;
        const el = document.activeElement;
        if (!el || el === document.body) return undefined;
        const style = getComputedStyle(el);
        // The ring sits outside the control (outline-offset): what surrounds it is the nearest opaque background.
        let around: El | null = el.parentElement;
        let background = 'rgb(255, 255, 255)';
        for (; around; around = around.parentElement) {
          const color = getComputedStyle(around).backgroundColor;
          if (color && !/rgba\(.*,\s*0\)$/.test(color) && color !== 'transparent') {
            background = color;
            break;
          }
        }
        const kind = el.matches('#school-search')
          ? 'search field'
          : el.matches('.search-results a')
            ? 'search result'
            : el.matches('.schools a')
              ? 'school link'
              : el.matches('a.upstream')
                ? 'directory link'
                : el.matches('summary')
                  ? 'school list'
                  : el.matches('.languages a')
                    ? 'language link'
                    : el.matches('button')
                      ? 'button'
                      : el.tagName.toLowerCase();
        return { kind, outline: style.outlineColor, outlineStyle: style.outlineStyle, width: parseFloat(style.outlineWidth), background };
      });
      if (focus) {
        expect(`${focus.kind}: ${focus.outlineStyle}`).not.toBe(`${focus.kind}: none`);
        const ratio = contrast(focus.outline, focus.background);
        const before = seen.get(focus.kind);
        seen.set(focus.kind, { ratio: Math.min(ratio, before?.ratio ?? Infinity), width: focus.width });
      }
      await page.keyboard.press('Tab');
    }
    expect([...seen.keys()]).toEqual(
      expect.arrayContaining(['language link', 'search field', 'button', 'search result', 'directory link', 'school list', 'school link']),
    );
    for (const [kind, { ratio, width }] of seen) {
      expect(`${kind}: ${ratio >= 3}`).toBe(`${kind}: true`);
      expect(width).toBeGreaterThanOrEqual(2);
    }
    await context.close();
  });

  it('fits the chooser and its search into 320 px, header included', async () => {
    for (const lang of LOCALES) {
      const context = await browser.newContext({ viewport: { width: 320, height: 640 } });
      const page = await openChooser(context, lang);
      await expectNoHorizontalOverflow(page, `chooser (${lang})`);
      const button = await page.locator('.search-row button').boundingBox();
      expect(button!.x + button!.width).toBeLessThanOrEqual(320);
      // Each language link stays on one line.
      const heights = await page
        .locator('nav.languages a')
        .evaluateAll((links) => links.map((a) => (a as unknown as { getClientRects(): ArrayLike<unknown> }).getClientRects().length));
      expect(heights).toEqual([1, 1, 1]);
      await context.close();
    }
  });
});
