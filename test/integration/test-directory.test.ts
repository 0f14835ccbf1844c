import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { DIRECTORY_CLAIMS, DIRECTORY_CSP } from '../../src/testdirectory/index.js';
import type { TestUser } from '../../src/testdirectory/users.js';
import { startDirectoryIdp, type Fault, type DirectoryIdpHandle } from '../support/directory-idp.js';
import { extractForm, textOf, UserAgent, type Page } from '../support/user-agent.js';
import { eventually } from '../support/eventually.js';

/**
 * The bundled test school directory as a relying party sees it: openid-client 6 on one side, a
 * cookie-keeping user agent at the login form on the other, every part real HTTP on loopback.
 */

const RP_REDIRECT = 'http://127.0.0.1:9/callback';

interface Request {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

let idp: DirectoryIdpHandle;
let config: client.Configuration;
/** The last raw token endpoint answer, as openid-client received it. */
let lastTokenResponse: Record<string, unknown> | undefined;

async function discover(): Promise<client.Configuration> {
  const discovered = await client.discovery(new URL(idp.issuer), idp.clientId, undefined, client.ClientSecretBasic(idp.clientSecret), {
    execute: [client.allowInsecureRequests],
  });
  discovered[client.customFetch] = async (url, options) => {
    const response = await fetch(url, options as RequestInit);
    if (new URL(url).pathname.endsWith('/token')) {
      lastTokenResponse = response.headers.get('content-type')?.includes('json') ? ((await response.clone().json()) as Record<string, unknown>) : undefined;
    }
    return response;
  };
  return discovered;
}

async function authorizationRequest(extra: Record<string, string> = {}): Promise<Request> {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: RP_REDIRECT,
    scope: 'openid profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, state, nonce, codeVerifier };
}

function redeem(callback: string, request: Request, configuration = config) {
  return client.authorizationCodeGrant(configuration, new URL(callback), {
    pkceCodeVerifier: request.codeVerifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
    idTokenExpected: true,
  });
}

/** Opens the login form for a fresh request. */
async function openLogin(agent = new UserAgent('en'), extra: Record<string, string> = {}) {
  const request = await authorizationRequest(extra);
  const page = await agent.get(request.url.href, { stopAt: RP_REDIRECT });
  expect(page.status).toBe(200);
  expect(page.url).toContain('/test-directory/interaction/');
  return { agent, request, page };
}

/** A whole login at the form; returns the URL the client's redirect URI receives. */
async function login(username: string, agent = new UserAgent('en')) {
  const { request, page } = await openLogin(agent);
  const done = await agent.submit(page, { username, password: `${username}pwd`, action: 'login' }, { stopAt: RP_REDIRECT });
  expect(done.status).toBe(0);
  expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
  return { agent, request, callback: done.url };
}

function user(username: string): TestUser {
  const found = idp.users.find((u) => u.username === username);
  if (!found) throw new Error(`no catalogue user ${username}`);
  return found;
}

/** The directory claims of a token, nothing else. */
function rawClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => (DIRECTORY_CLAIMS as readonly string[]).includes(name)));
}

/** The rejection of `promise`, with openid-client's error code and the messages of its causes. */
async function failure(promise: Promise<unknown>): Promise<{ error: unknown; code: unknown; messages: string }> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  const messages: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) messages.push(e.message);
  return { error, code: (error as { code?: unknown }).code, messages: messages.join(' / ') };
}

function expectNoStackTrace(page: Page): void {
  expect(page.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

beforeAll(async () => {
  idp = await startDirectoryIdp({ redirectUris: [RP_REDIRECT] });
  config = await discover();
});
afterEach(() => idp.setFault('none'));
afterAll(async () => {
  await idp?.stop();
});

describe('the test school directory as an OpenID Provider', () => {
  it('publishes its metadata under the mount path', async () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(idp.issuer);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint'] as const) {
      expect(String(metadata[endpoint])).toMatch(new RegExp(`^${idp.issuer}/`));
    }
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile']));
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['sub', ...DIRECTORY_CLAIMS]));
  });

  it('signs a catalogue user in and releases exactly their raw claims in the ID token', async () => {
    const { request, callback } = await login('pupil-complete');
    expect(new URL(callback).searchParams.get('iss')).toBe(idp.issuer);
    const tokens = await redeem(callback, request);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: idp.issuer, aud: idp.clientId, sub: 'pupil-complete', nonce: request.nonce });
    expect(rawClaims(claims)).toEqual(user('pupil-complete').claims);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
  });

  it.each(['pupil-two-schools', 'blocked-no-learner-id', 'no-given-name', 'nordic-letters', 'semicolon-lists'])(
    '%s: lists, missing claims and non-ASCII names arrive exactly as catalogued',
    async (username) => {
      const { request, callback } = await login(username);
      const claims = (await redeem(callback, request)).claims()!;
      expect(claims.sub).toBe(username);
      expect(rawClaims(claims)).toEqual(user(username).claims);
    },
  );

  it('grants only what was asked: scope openid gives no profile claims; a wider request later is consented without a page', async () => {
    const agent = new UserAgent('en');
    const { request, page } = await openLogin(agent, { scope: 'openid' });
    const first = await agent.submit(page, { username: 'teacher', password: 'teacherpwd', action: 'login' }, { stopAt: RP_REDIRECT });
    const narrow = (await redeem(first.url, request)).claims()!;
    expect(narrow.sub).toBe('teacher');
    expect(rawClaims(narrow)).toEqual({});

    const wider = await authorizationRequest();
    const seen = agent.history.length;
    const second = await agent.get(wider.url.href, { stopAt: RP_REDIRECT });
    expect(second.status).toBe(0);
    // Through an interaction (the consent prompt) but never a page with a form.
    expect(agent.history.slice(seen).some((p) => p.url.includes('/interaction/'))).toBe(true);
    expect(agent.history.slice(seen).every((p) => p.status !== 200)).toBe(true);
    expect(rawClaims((await redeem(second.url, wider)).claims()!)).toEqual(user('teacher').claims);

    // Single sign-on at the directory: the same request again goes straight back.
    const again = await authorizationRequest();
    const third = await agent.get(again.url.href, { stopAt: RP_REDIRECT });
    expect((await redeem(third.url, again)).claims()!.sub).toBe('teacher');
  });

  it('requires PKCE with S256', async () => {
    const agent = new UserAgent('en');
    const withoutPkce = client.buildAuthorizationUrl(config, { redirect_uri: RP_REDIRECT, scope: 'openid', state: 's1', nonce: 'n1' });
    const refused = new URL((await agent.get(withoutPkce.href, { stopAt: RP_REDIRECT })).url);
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('state')).toBe('s1');

    const plain = client.buildAuthorizationUrl(config, {
      redirect_uri: RP_REDIRECT,
      scope: 'openid',
      state: 's2',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'plain',
    });
    expect(new URL((await agent.get(plain.href, { stopAt: RP_REDIRECT })).url).searchParams.get('error')).toBe('invalid_request');
  });
});

describe('the login page', () => {
  it("is a valid, accessible page in the browser's language, with strict security headers and the catalogue below the form", async () => {
    const { page } = await openLogin();
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(DIRECTORY_CSP);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');

    expect(page.body).toMatch(/^<!DOCTYPE html>\s*<html lang="en">/);
    expect(page.body).toContain('Mansikkala test school');
    expect(page.body).toContain('test school user directory');
    expect(page.body).toMatch(/<label for="username">/);
    expect(page.body).toMatch(/<input id="username" name="username"/);
    expect(page.body).toMatch(/<label for="password">/);
    expect(page.body).toMatch(/<input id="password" name="password" type="password"/);
    // CSP default-src 'self': nothing inline.
    expect(page.body).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);

    const form = extractForm(page);
    expect(form.method).toBe('post');
    expect(new URL(form.action).pathname).toBe(new URL(page.url).pathname);
    expect(form.buttons.map((b) => [b.name, b.value])).toEqual([
      ['action', 'login'],
      ['action', 'cancel'],
    ]);

    const table = textOf(page.body.slice(page.body.indexOf('<table')));
    for (const u of idp.users) {
      expect(page.body).toContain(`<code>${u.username}</code>`);
      expect(table).toContain(u.description.en);
    }

    const css = page.body.match(/<link rel="stylesheet" href="([^"]+)">/)?.[1];
    const stylesheet = await fetch(new URL(css!, page.url));
    expect(stylesheet.status).toBe(200);
    expect(stylesheet.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('keeps its cookies apart from whatever else the host serves', async () => {
    const { agent, page } = await openLogin();
    const names = Object.keys(agent.cookiesFor(page.url));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^testdir_/);
  });

  it('re-renders the form with an error on a wrong password or unknown user, without redirecting', async () => {
    const { agent, request, page } = await openLogin();
    for (const [username, password] of [
      ['pupil-complete', 'wrong'],
      ['pupil-complete', ''],
      ['nobody', 'nobodypwd'],
    ] as const) {
      const again = await agent.submit(page, { username, password, action: 'login' }, { stopAt: RP_REDIRECT });
      expect(again.status).toBe(401);
      expect(again.headers.get('location')).toBeNull();
      expect(again.body).toContain('Wrong username or password');
      expect(again.body).toContain('role="alert"');
      expect(extractForm(again).fields.username).toBe(username);
      expect(extractForm(again).fields.password).toBe('');
    }
    // The same interaction still completes with the right password.
    const done = await agent.submit(page, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' }, { stopAt: RP_REDIRECT });
    expect((await redeem(done.url, request)).claims()!.sub).toBe('pupil-complete');
  });

  it('cancel returns access_denied to the client', async () => {
    const { agent, request, page } = await openLogin();
    const done = await agent.submit(page, { action: 'cancel' }, { stopAt: RP_REDIRECT });
    const callback = new URL(done.url);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    expect(callback.searchParams.get('code')).toBeNull();
    const error = await redeem(done.url, request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(client.AuthorizationResponseError);
    expect((error as client.AuthorizationResponseError).error).toBe('access_denied');
  });

  it('speaks Swedish when asked (ui_locales or the browser), keeps it after a wrong password, and links the other languages', async () => {
    const { agent, page } = await openLogin(new UserAgent('en'), { ui_locales: 'sv' });
    expect(page.body).toMatch(/<html lang="sv">/);
    expect(textOf(page.body)).toContain('Logga in');
    for (const u of idp.users) expect(textOf(page.body)).toContain(u.description.sv!);
    expect(page.body).toContain('?lang=fi');
    const wrong = await agent.submit(page, { username: 'pupil-complete', password: 'wrong', action: 'login' });
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.body)).toContain('Fel användarnamn eller lösenord.');
  });

  it('answers bad input with a readable 4xx page, never a 500 or a stack trace', async () => {
    const { agent, page } = await openLogin();
    const action = extractForm(page).action;
    const cookie = Object.entries(agent.cookiesFor(action))
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    const post = async (body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Page> => {
      const response = await fetch(action, { method: 'POST', headers: { cookie, 'content-type': contentType }, body, redirect: 'manual' });
      return { url: action, status: response.status, headers: response.headers, body: await response.text() };
    };
    const cases: Array<[string, Page, number]> = [
      ['unknown action', await post('action=steal&username=pupil-complete&password=x'), 400],
      ['no action', await post('username=pupil-complete&password=pupil-completepwd'), 400],
      ['unexpected field', await post('action=login&username=pupil-complete&password=pupil-completepwd&admin=1'), 400],
      ['overlong username', await post(`action=login&username=${'a'.repeat(500)}&password=x`), 400],
      ['not a form', await post('{"action":"login"}', 'application/json'), 415],
      ['too large', await post(`action=login&username=x&password=${'x'.repeat(20_000)}`), 413],
      ['unknown interaction', await agent.request(`${idp.issuer}/interaction/doesnotexist`), 400],
      ['malformed interaction id', await agent.request(`${idp.issuer}/interaction/${encodeURIComponent('<script>')}`), 400],
    ];
    for (const [name, result, status] of cases) {
      expect(`${name}: ${result.status}`).toBe(`${name}: ${status}`);
      expect(result.headers.get('content-type')).toMatch(/^text\/html/);
      expect(result.headers.get('content-security-policy')).toBe(DIRECTORY_CSP);
      // fetch asks for any language (Accept-Language: *): Finnish; the agent asks for English.
      expect(result.body).toMatch(/<html lang="(fi|en)">/);
      expect(result.body).not.toContain('<script>');
      expectNoStackTrace(result);
    }
    // A bad form keeps the user on the form.
    expect(cases[0]![1].body).toContain('Lomake ei kelvannut');
    expect(extractForm(cases[0]![1]).action).toBe(action);
  });

  it('a login that is not in progress (no interaction cookie) gets a 400 page', async () => {
    const { page } = await openLogin();
    const stranger = new UserAgent('en');
    const result = await stranger.postForm(extractForm(page).action, { action: 'login', username: 'pupil-complete', password: 'pupil-completepwd' });
    expect(result.status).toBe(400);
    expect(result.body).toContain('invalid_request');
    expectNoStackTrace(result);
  });
});

describe('fault injection (a misbehaving directory, for the bridge tests)', () => {
  /** Logs in with no fault, then switches the fault on before the code is redeemed. */
  async function loginThenFault(fault: Fault, options?: { slowMs?: number }) {
    const flow = await login('pupil-complete');
    idp.setFault(fault, options);
    return flow;
  }

  const verifyWithIdpKeys = async (token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(String(config.serverMetadata().jwks_uri))), { algorithms: ['RS256'] });

  it('authorization-error: back to the client with access_denied, state and iss, without a login', async () => {
    idp.setFault('authorization-error');
    const request = await authorizationRequest();
    const agent = new UserAgent('en');
    const done = await agent.get(request.url.href, { stopAt: RP_REDIRECT });
    const callback = new URL(done.url);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    expect(agent.history.some((p) => p.status === 200)).toBe(false);
    await expect(redeem(done.url, request)).rejects.toBeInstanceOf(client.AuthorizationResponseError);
  });

  it('token-500: the token endpoint fails with 500 and a server_error body', async () => {
    const { request, callback } = await loginThenFault('token-500');
    const { error, code } = await failure(redeem(callback, request));
    // oauth4webapi accepts OAuth error bodies only with 400/401: a 500 is a non-conforming response.
    expect(code).toBe('OAUTH_RESPONSE_IS_NOT_CONFORM');
    expect(((error as Error).cause as Response).status).toBe(500);
    expect(lastTokenResponse).toEqual({ error: 'server_error' });
  });

  it('slow-token: the token endpoint answers only after the delay', async () => {
    const { request, callback } = await loginThenFault('slow-token', { slowMs: 1200 });
    const started = Date.now();
    const tokens = await redeem(callback, request);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    expect(tokens.claims()!.sub).toBe('pupil-complete');
  });

  it('unsigned-id-token: an alg none token with the real claims, which openid-client rejects', async () => {
    const { request, callback } = await loginThenFault('unsigned-id-token');
    expect((await failure(redeem(callback, request))).messages).toMatch(/unexpected JWT "alg" header parameter/);
    const idToken = String(lastTokenResponse?.id_token);
    expect(decodeProtectedHeader(idToken).alg).toBe('none');
    expect(idToken.endsWith('.')).toBe(true);
    expect(decodeJwt(idToken)).toMatchObject({ sub: 'pupil-complete', iss: idp.issuer, nonce: request.nonce, ...user('pupil-complete').claims });
  });

  it.each([
    ['wrong-issuer', /unexpected JWT "iss"/, { iss: 'https://attacker.example' }],
    ['wrong-audience', /unexpected JWT "aud"/, { aud: 'someone-else' }],
    ['wrong-nonce', /unexpected ID Token "nonce"/, { nonce: 'not-the-nonce' }],
    ['expired-id-token', /unexpected JWT "exp"/, {}],
  ] as Array<[Fault, RegExp, Record<string, unknown>]>)('%s: re-signed with the real key, rejected by openid-client', async (fault, message, changed) => {
    const { request, callback } = await loginThenFault(fault);
    expect((await failure(redeem(callback, request))).messages).toMatch(message);
    const idToken = String(lastTokenResponse?.id_token);
    const claims = decodeJwt(idToken);
    expect(claims).toMatchObject({ sub: 'pupil-complete', ...user('pupil-complete').claims, ...changed });
    // openid-client tolerates 30 s of clock skew by default, the bridge 5 s: far past both.
    if (fault === 'expired-id-token') expect(claims.exp!).toBeLessThan(Date.now() / 1000 - 60);
    // The signature itself is genuine: only the claims are wrong.
    const verified = verifyWithIdpKeys(idToken);
    if (fault === 'expired-id-token') await expect(verified).rejects.toThrow(/exp/);
    else await expect(verified).resolves.toBeDefined();
  });

  it('foreign-key: same kid, another key; the signature check fails', async () => {
    const normal = await login('pupil-complete');
    const realKid = decodeProtectedHeader(String((await redeem(normal.callback, normal.request)).id_token)).kid;

    const { request, callback } = await loginThenFault('foreign-key');
    // Without signature checks (allowed for a direct TLS token response) the token would pass: so the
    // bridge must verify signatures, as openid-client does with non-repudiation checks on.
    const strict = await discover();
    client.enableNonRepudiationChecks(strict);
    expect((await failure(redeem(callback, request, strict))).messages).toMatch(/JWT signature verification failed/);
    const idToken = String(lastTokenResponse?.id_token);
    expect(decodeProtectedHeader(idToken).kid).toBe(realKid);
    expect(decodeJwt(idToken)).toMatchObject({ sub: 'pupil-complete', iss: idp.issuer, nonce: request.nonce });
    await expect(verifyWithIdpKeys(idToken)).rejects.toThrow(/signature/i);
  });

  it('no-id-token: the token response lacks the ID token', async () => {
    const { request, callback } = await loginThenFault('no-id-token');
    expect((await failure(redeem(callback, request))).messages).toMatch(/"id_token" property must be a string/);
    expect(lastTokenResponse).toHaveProperty('access_token');
    expect(lastTokenResponse).not.toHaveProperty('id_token');
  });

  it('discovery-500: discovery fails', async () => {
    idp.setFault('discovery-500');
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(500);
    await expect(discover()).rejects.toThrow();
    idp.setFault('none');
    await expect(discover()).resolves.toBeDefined();
  });

  it('stop() takes the directory down (cancelling a slow token answer) and start() brings it back on the same port', async () => {
    const { request, callback } = await loginThenFault('slow-token', { slowMs: 60_000 });
    const pending = redeem(callback, request).then(
      () => 'answered',
      () => 'failed',
    );
    await eventually(() => idp.heldTokenRequests() === 1, { what: 'the token request reaching the directory' });
    const stopped = Date.now();
    await idp.stop();
    expect(await pending).toBe('failed');
    expect(Date.now() - stopped).toBeLessThan(2000);
    await expect(fetch(`${idp.issuer}/.well-known/openid-configuration`)).rejects.toThrow();

    await idp.start();
    idp.setFault('none');
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const again = await login('teacher');
    expect((await redeem(again.callback, again.request)).claims()!.sub).toBe('teacher');
  });
});
