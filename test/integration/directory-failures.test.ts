import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { RP_CLIENT, RP_REDIRECT, signInAtDirectory, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import type { Fault } from '../support/directory-idp.js';
import { linksWithText, UserAgent, type Page } from '../support/user-agent.js';

/** What the user reads (English page) and what the service receives, per directory failure. */
const CASES: Array<[Fault, string, string, string]> = [
  ['token-500', 'cannot be reached right now', 'temporarily_unavailable', '502'],
  ['slow-token', 'did not answer in time', 'temporarily_unavailable', '502'],
  ['unsigned-id-token', 'was not valid', 'access_denied', '400'],
  ['wrong-issuer', 'was not valid', 'access_denied', '400'],
  ['wrong-audience', 'was not valid', 'access_denied', '400'],
  ['wrong-nonce', 'was not valid', 'access_denied', '400'],
  ['expired-id-token', 'was not valid', 'access_denied', '400'],
  ['foreign-key', 'was not valid', 'access_denied', '400'],
  ['no-id-token', 'was not valid', 'access_denied', '400'],
];

async function expectFailurePage(fed: Federation, agent: UserAgent, page: Page, message: string, status: number, error: string) {
  expect(page.status).toBe(status);
  expect(page.headers.get('content-type')).toContain('text/html');
  expect(page.body).toContain(message);
  expect(page.body).not.toMatch(/\n\s+at |Error:|stack/);
  const [back] = linksWithText(page, 'Return to the service');
  expect(back).toBeDefined();
  const done = await agent.navigate(back!, { stopAt: RP_REDIRECT });
  const callback = new URL(done.url);
  expect(callback.searchParams.get('error')).toBe(error);
  expect(callback.searchParams.get('iss')).toBe(fed.bridge.issuer);
  expect(callback.searchParams.get('code')).toBeNull();
}

describe('a misbehaving school directory', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ config: { upstreamHttp: { timeoutMs: 1000, clockToleranceSeconds: 5 } } });
  });
  afterEach(() => fed.directoryIdp.setFault('none'));
  afterAll(async () => {
    await fed?.stop();
  });

  async function loginAt(agent: UserAgent) {
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, ui_locales: 'en' });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    return { request, login };
  }

  it.each(CASES)('%s: the user gets a clear page and the service %s', async (fault, message, error, status) => {
    fed.directoryIdp.setFault(fault, { slowMs: 3000 });
    const agent = new UserAgent('en');
    const { login } = await loginAt(agent);
    const page = await signInAtDirectory(agent, login, 'pupil-complete');
    await expectFailurePage(fed, agent, page, message, Number(status), error);
  });

  it('authorization error: the directory refuses the user', async () => {
    fed.directoryIdp.setFault('authorization-error');
    const agent = new UserAgent('en');
    const { login } = await loginAt(agent);
    await expectFailurePage(fed, agent, login, 'The sign-in was cancelled', 400, 'access_denied');
  });

  it('the user cancels at the directory', async () => {
    const agent = new UserAgent('en');
    const { login } = await loginAt(agent);
    const page = await agent.submit(login, { action: 'cancel' }, { stopAt: RP_REDIRECT });
    await expectFailurePage(fed, agent, page, 'The sign-in was cancelled', 400, 'access_denied');
  });

  it('the directory goes down during the login', async () => {
    const agent = new UserAgent('en');
    const { login } = await loginAt(agent);
    const atCallback = await signInAtDirectory(agent, login, 'pupil-complete', `${fed.bridge.issuer}/upstream/`);
    await fed.directoryIdp.stop();
    try {
      const page = await agent.navigate(atCallback.url, { stopAt: RP_REDIRECT });
      await expectFailurePage(fed, agent, page, 'cannot be reached right now', 502, 'temporarily_unavailable');
    } finally {
      await fed.directoryIdp.start();
    }
  });

  it('a forged callback (state not from this login) is refused', async () => {
    const agent = new UserAgent('en');
    const { login } = await loginAt(agent);
    const atCallback = await signInAtDirectory(agent, login, 'pupil-complete', `${fed.bridge.issuer}/upstream/`);
    const forged = new URL(atCallback.url);
    forged.searchParams.set('state', 'forged-state');
    const page = await agent.navigate(forged.href, { stopAt: RP_REDIRECT });
    await expectFailurePage(fed, agent, page, 'was not valid', 400, 'access_denied');
  });

  it('a replayed callback finds nothing to finish', async () => {
    const agent = new UserAgent('en');
    const { request, login } = await loginAt(agent);
    const atCallback = await signInAtDirectory(agent, login, 'pupil-complete', `${fed.bridge.issuer}/upstream/`);
    const done = await agent.navigate(atCallback.url, { stopAt: RP_REDIRECT });
    await fed.rp.redeem(done.url, request);
    const replay = await agent.navigate(atCallback.url, { stopAt: RP_REDIRECT });
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('started in another browser');
  });

  it('a callback to another directory than the one started is refused (mix-up)', async () => {
    const agent = new UserAgent('en');
    const { login } = await loginAt(agent);
    const atCallback = await signInAtDirectory(agent, login, 'pupil-complete', `${fed.bridge.issuer}/upstream/`);
    const other = atCallback.url.replace(`/upstream/${SCHOOL_DIRECTORY_ID}/`, '/upstream/test-school/');
    const page = await agent.navigate(other, { stopAt: RP_REDIRECT });
    expect(page.status).toBe(400);
    expect(page.body).toContain('started in another browser');
  });
});

describe('a school directory that is down from the start', () => {
  it('gives a clear page at once and temporarily_unavailable to the service', async () => {
    const fed = await startFederation();
    try {
      await fed.directoryIdp.stop();
      const agent = new UserAgent('en');
      const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, ui_locales: 'en' });
      const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      // /auth could not send the browser on to the directory: the interaction's page tried again and says why.
      expect(new URL(page.url).pathname).toMatch(/^\/interaction\/[^/]+$/);
      await expectFailurePage(fed, agent, page, 'cannot be reached right now', 502, 'temporarily_unavailable');
    } finally {
      await fed.stop();
    }
  });

  it('answers discovery errors the same way', async () => {
    const fed = await startFederation();
    try {
      fed.directoryIdp.setFault('discovery-500');
      const agent = new UserAgent('sv');
      const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, ui_locales: 'sv' });
      const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      expect(page.status).toBe(502);
      expect(page.body).toContain('kan inte nås just nu');
      expect(page.body).toContain('lang="sv"');
    } finally {
      await fed.stop();
    }
  });
});

describe('bad input from a service', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation();
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it('shows a page, never a redirect, for an unknown client or redirect URI', async () => {
    const agent = new UserAgent('en');
    const unknownClient = new URL(`${fed.bridge.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://evil.example/cb`);
    const page = await agent.request(unknownClient.href);
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
    expect(page.body).toContain('sign-in request was not valid');

    const request = await fed.rp.authorizationRequest({ redirect_uri: 'https://evil.example/cb' });
    const wrongRedirect = await agent.request(request.url.href);
    expect(wrongRedirect.status).toBe(400);
    expect(wrongRedirect.headers.get('location')).toBeNull();
  });

  it('refuses a request without PKCE and an implicit response type, at the service redirect URI', async () => {
    const agent = new UserAgent();
    const noPkce = new URL(`${fed.bridge.issuer}/auth`);
    noPkce.search = new URLSearchParams({
      client_id: 'learning-service',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: RP_REDIRECT,
      state: 's',
    }).toString();
    const done = await agent.navigate(noPkce.href, { stopAt: RP_REDIRECT });
    expect(new URL(done.url).searchParams.get('error')).toBe('invalid_request');

    const implicit = new URL(noPkce);
    implicit.searchParams.set('response_type', 'id_token');
    implicit.searchParams.set('nonce', 'n');
    const page = await agent.navigate(implicit.href, { stopAt: RP_REDIRECT });
    const error = page.url.startsWith(RP_REDIRECT)
      ? (new URL(page.url).searchParams.get('error') ?? new URLSearchParams(new URL(page.url).hash.slice(1)).get('error'))
      : null;
    expect(error).toBe('unsupported_response_type');
  });

  it('answers a bad token request with an OIDC error, not a 500', async () => {
    const basic = (secret: string) => `Basic ${Buffer.from(`${RP_CLIENT.client_id}:${secret}`).toString('base64')}`;
    const token = (body: string, options: { secret?: string; contentType?: string } = {}) =>
      fetch(`${fed.bridge.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
          authorization: basic(options.secret ?? RP_CLIENT.client_secret),
        },
        body,
      });
    const redirect = `redirect_uri=${encodeURIComponent(RP_REDIRECT)}`;
    // A service that authenticates correctly but asks for something wrong, then one that does not authenticate.
    const cases: Array<[string, () => Promise<Response>, number, string]> = [
      ['a code never issued', () => token(`grant_type=authorization_code&code=nope&${redirect}&code_verifier=${'v'.repeat(43)}`), 400, 'invalid_grant'],
      ['no grant_type', () => token(`code=nope&${redirect}`), 400, 'invalid_request'],
      ['a grant type the bridge does not offer', () => token('grant_type=password&username=a&password=b'), 400, 'unsupported_grant_type'],
      ['a body that is not a form', () => token('{', { contentType: 'application/json' }), 400, 'invalid_request'],
      ['a wrong client secret', () => token(`grant_type=authorization_code&code=nope&${redirect}`, { secret: 'wrong' }), 401, 'invalid_client'],
    ];
    for (const [what, request, status, error] of cases) {
      const response = await request();
      expect({ what, status: response.status, contentType: response.headers.get('content-type') }).toEqual({
        what,
        status,
        contentType: expect.stringContaining('application/json'),
      });
      const body = (await response.json()) as Record<string, unknown>;
      expect({ what, error: body.error, description: typeof body.error_description }).toEqual({ what, error, description: 'string' });
      expect(JSON.stringify(body)).not.toMatch(/\n\s+at |stack/);
    }
    expect(fed.bridge.logs.some((l) => l.msg === 'unexpected error')).toBe(false);
  });

  it('answers unknown interaction ids and junk callbacks with readable pages', async () => {
    const agent = new UserAgent('en');
    for (const path of [
      '/interaction/doesnotexist',
      '/interaction/abc/complete',
      `/upstream/${SCHOOL_DIRECTORY_ID}/callback?code=x&state=y`,
      '/upstream/NOPE/callback',
      '/interaction/%ZZ',
    ]) {
      const page = await agent.request(`${fed.bridge.issuer}${path}`);
      expect(page.status).toBeGreaterThanOrEqual(400);
      expect(page.status).toBeLessThan(500);
      expect(page.headers.get('content-type')).toContain('text/html');
    }
    expect(fed.bridge.logs.some((l) => l.msg === 'unexpected error')).toBe(false);
  });

  it('never accepts a token signed by the directory as its own', async () => {
    expect(client.AuthorizationResponseError).toBeDefined();
    const jwks = (await (await fetch(`${fed.bridge.issuer}/jwks`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
  });
});
