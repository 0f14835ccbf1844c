import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { CLAIM } from '../../src/claims/claim-names.js';
import { PUPIL_COMPLETE_CLAIMS } from '../support/pupil-claims.js';
import {
  choose,
  deepLinkLogin,
  RP_CLIENT,
  RP_REDIRECT,
  signInAtDirectory,
  startFederation,
  SCHOOL_DIRECTORY_ID,
  type Federation,
} from '../support/federation.js';
import { linksWithText, UserAgent } from '../support/user-agent.js';
import { epochSeconds, untilClockPasses } from '../support/eventually.js';

const PUPIL_CLAIMS = {
  ...PUPIL_COMPLETE_CLAIMS,
  [CLAIM.schoolInfo]: ['30076;Mansikkalan testi peruskoulu', '1.2.246.562.99.00000000002;Mansikkalan testi peruskoulu'],
  [CLAIM.educationProviderInfo]: ['1.2.246.562.99.00000000001;Mansikkalan testi kunta'],
  [CLAIM.school]: ['Mansikkalan testi peruskoulu'],
  [CLAIM.educationProviderId]: ['1.2.246.562.99.00000000001'],
  [CLAIM.educationProvider]: ['Mansikkalan testi kunta'],
};

describe('federated login: service → bridge → school directory → bridge → service', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation();
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it('picks the directory in the chooser and delivers an ID token and userinfo with the validated claims', async () => {
    const agent = new UserAgent();
    const request = await fed.rp.authorizationRequest();
    const chooser = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(chooser.status).toBe(200);
    expect(new URL(chooser.url).pathname).toMatch(/^\/interaction\//);
    expect(chooser.body).toContain('Valitse koulusi');
    expect(chooser.body).toContain('Koulu A');
    expect(chooser.body).toContain('Mansikkalan testikoulu');

    const login = await choose(agent, chooser, 'Koulu A');
    expect(login.url.startsWith(fed.directoryIdp.issuer)).toBe(true);
    const done = await signInAtDirectory(agent, login, 'pupil-complete');
    const callback = new URL(done.url);
    expect(callback.searchParams.get('iss')).toBe(fed.bridge.issuer);

    const tokens = await fed.rp.redeem(done.url, request);
    const idToken = tokens.claims()!;
    expect(idToken).toMatchObject({ iss: fed.bridge.issuer, aud: RP_CLIENT.client_id, ...PUPIL_CLAIMS });
    expect(idToken[CLAIM.uid]).toMatch(/^MPASSOID\.[0-9a-f]{40}$/);
    expect(idToken[CLAIM.originalIssuer]).toBe(fed.directoryIdp.issuer);
    expect(typeof idToken.auth_time).toBe('number');
    // Pairwise: the service's sub is not the directory's username nor the bridge's account id.
    expect(idToken.sub).not.toContain('pupil-complete');

    const userinfo = await fed.rp.userinfo(tokens.access_token, idToken.sub);
    expect(userinfo).toMatchObject({ sub: idToken.sub, ...PUPIL_CLAIMS, [CLAIM.uid]: idToken[CLAIM.uid] });
  });

  it('names the directory in acr when the service asked for it', async () => {
    const agent = new UserAgent();
    const { request, callback } = await deepLinkLogin(fed, agent, 'pupil-complete');
    expect((await fed.rp.redeem(callback, request)).claims()!.acr).toBe(`urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`);
  });

  it('goes straight to the directory named in acr_values (no chooser)', async () => {
    const agent = new UserAgent();
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(page.url.startsWith(`${fed.directoryIdp.issuer}/interaction/`)).toBe(true);
    expect(agent.history.some((p) => p.body.includes('Valitse koulusi'))).toBe(false);
  });

  it('shows the chooser for an unknown directory in acr_values', async () => {
    const agent = new UserAgent();
    const request = await fed.rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:no-such-school' });
    const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(page.body).toContain('Valitse koulusi');
  });

  it('blocks a user whose learner number is malformed: readable page, access_denied to the service, no token', async () => {
    const agent = new UserAgent('en');
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, ui_locales: 'en' });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const page = await signInAtDirectory(agent, login, 'blocked-bad-learner-id');
    expect(page.status).toBe(400);
    expect(page.body).toContain('a valid national learner number');
    expect(page.body).not.toContain('1.2.246.562.24.1234');
    const [returnLink] = linksWithText(page, 'Return to the service');
    const back = await agent.navigate(returnLink!, { stopAt: RP_REDIRECT });
    const callback = new URL(back.url);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    await expect(fed.rp.redeem(back.url, request)).rejects.toBeInstanceOf(client.AuthorizationResponseError);
    const logText = fed.bridge.logText();
    expect(logText).toContain('learner_id_invalid');
    expect(logText).not.toContain('1.2.246.562.24.1234');
  });

  it('keeps its own SSO session: prompt=none returns a code without the directory', async () => {
    const agent = new UserAgent();
    const first = await deepLinkLogin(fed, agent, 'teacher');
    const firstTokens = await fed.rp.redeem(first.callback, first.request);
    const authTime = firstTokens.claims()!.auth_time;

    const seen = agent.history.length;
    const request = await fed.rp.authorizationRequest({ prompt: 'none' });
    const done = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    expect(agent.history.slice(seen).some((p) => p.url.startsWith(fed.directoryIdp.issuer))).toBe(false);
    const tokens = await fed.rp.redeem(done.url, request);
    expect(tokens.claims()!.sub).toBe(firstTokens.claims()!.sub);
    expect(tokens.claims()!.auth_time).toBe(authTime);
  });

  it('answers prompt=none without a session with login_required', async () => {
    const agent = new UserAgent();
    const request = await fed.rp.authorizationRequest({ prompt: 'none' });
    const done = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(new URL(done.url).searchParams.get('error')).toBe('login_required');
  });

  it('sends the user back to the directory on prompt=login and reports the new auth_time', async () => {
    const agent = new UserAgent();
    const first = await deepLinkLogin(fed, agent, 'pupil-two-schools');
    const before = (await fed.rp.redeem(first.callback, first.request)).claims()!;
    // auth_time counts whole seconds: the new login is in a later one.
    await untilClockPasses(before.auth_time!);
    const again = await deepLinkLogin(fed, agent, 'pupil-two-schools', { prompt: 'login' });
    const after = (await fed.rp.redeem(again.callback, again.request)).claims()!;
    expect(after.sub).toBe(before.sub);
    expect(after.auth_time!).toBeGreaterThan(before.auth_time!);
  });

  it('honours max_age: an old session goes back to the directory', async () => {
    const agent = new UserAgent();
    await deepLinkLogin(fed, agent, 'pupil-school-office');
    // The login's time is at the latest this second; max_age=1 is exceeded once more than a whole second has passed since.
    const loggedInBy = epochSeconds();
    await untilClockPasses(loggedInBy + 1);
    const request = await fed.rp.authorizationRequest({ max_age: '1' });
    const page = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(page.body).toContain('Valitse koulusi');
  });

  it('refuses a directory callback in a browser that did not start the login', async () => {
    const agent = new UserAgent();
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const login = await agent.navigate(request.url.href, { stopAt: `http://127.0.0.1:${fed.bridge.port}/upstream/` });
    // Sign in at the directory but stop before the bridge's callback...
    const atCallback = await agent.submit(
      login,
      { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' },
      { stopAt: `${fed.bridge.issuer}/upstream/` },
    );
    expect(atCallback.url).toContain(`/upstream/${SCHOOL_DIRECTORY_ID}/callback?`);
    // ...and deliver it from another browser.
    const other = new UserAgent('en');
    const page = await other.navigate(atCallback.url, { stopAt: RP_REDIRECT });
    expect(page.status).toBe(400);
    expect(page.body).toContain('started in another browser');
    // The rightful browser still finishes.
    const done = await agent.navigate(atCallback.url, { stopAt: RP_REDIRECT });
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
  });

  it('takes a login that names its directory through no page of its own: /auth → directory → callback → /auth/<uid>', async () => {
    const agent = new UserAgent('en');
    const { callback } = await deepLinkLogin(fed, agent, 'pupil-complete');
    const bridgePaths = agent.history.filter((page) => page.url.startsWith(fed.bridge.issuer)).map((page) => new URL(page.url).pathname);
    expect(bridgePaths[0]).toBe('/auth');
    // /auth sends the browser straight to the directory; the callback hands the login straight back.
    expect(agent.history[1]!.url.startsWith(fed.directoryIdp.issuer)).toBe(true);
    const atCallback = bridgePaths.findIndex((path) => path.startsWith('/upstream/'));
    expect(bridgePaths[atCallback + 1]).toMatch(/^\/auth\/[^/]+$/);
    expect(bridgePaths.some((path) => path.startsWith('/interaction/'))).toBe(false);
    expect(callback.startsWith(RP_REDIRECT)).toBe(true);
  });

  it("shows a failed login's page only with the outcome its own callback handed this browser for this interaction", async () => {
    const blockedText = 'Your school did not send all the information needed to sign in';
    const expiredText = 'The sign-in session has expired';
    // Browser A's login fails at the claims step: the callback sends it to its failure page.
    const a = new UserAgent('en');
    const requestA = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const loginA = await a.navigate(requestA.url.href, { stopAt: RP_REDIRECT });
    const atComplete = await signInAtDirectory(a, loginA, 'blocked-bad-learner-id', `${fed.bridge.issuer}/interaction/`);
    const uidA = /\/interaction\/([^/]+)\/complete$/.exec(new URL(atComplete.url).pathname)![1]!;
    const outcome = a.cookiesFor(atComplete.url);
    expect(Object.keys(outcome)).toEqual(expect.arrayContaining(['mpass_login', 'mpass_login.sig']));
    // Browser B, with a login of its own in progress, is given A's outcome for B's interaction.
    const b = new UserAgent('en');
    const loginB = await b.navigate((await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` })).url.href, {
      stopAt: RP_REDIRECT,
    });
    expect(loginB.body).toContain('name="username"');
    const uidB = b.history.map((page) => /\/interaction\/([^/?]+)/.exec(new URL(page.url).pathname)?.[1]).find(Boolean)!;
    b.setCookie(fed.bridge.issuer, 'mpass_login', outcome.mpass_login!, `/interaction/${uidB}`);
    b.setCookie(fed.bridge.issuer, 'mpass_login.sig', outcome['mpass_login.sig']!, `/interaction/${uidB}`);
    const copied = await b.navigate(`${fed.bridge.issuer}/interaction/${uidB}/complete`, { stopAt: RP_REDIRECT });
    expect(copied.status).toBe(400);
    expect(copied.body).toContain(expiredText);
    // An outcome altered in A's own browser (its signature kept) is no outcome either.
    const forged = { uid: uidA, outcome: { ok: false, directoryId: SCHOOL_DIRECTORY_ID, code: 'directory_denied' } };
    a.setCookie(fed.bridge.issuer, 'mpass_login', Buffer.from(JSON.stringify(forged)).toString('base64url'), `/interaction/${uidA}`);
    const altered = await a.navigate(atComplete.url, { stopAt: RP_REDIRECT });
    expect(altered.status).toBe(400);
    expect(altered.body).toContain(expiredText);
    // The outcome as the callback gave it shows A why (a failed signature removes the signature cookie: both go back).
    a.setCookie(fed.bridge.issuer, 'mpass_login', outcome.mpass_login!, `/interaction/${uidA}`);
    a.setCookie(fed.bridge.issuer, 'mpass_login.sig', outcome['mpass_login.sig']!, `/interaction/${uidA}`);
    const shown = await a.navigate(atComplete.url, { stopAt: RP_REDIRECT });
    expect(shown.status).toBe(400);
    expect(shown.body).toContain(blockedText);
  });

  it('lets exactly one of two concurrent redemptions of a code get tokens, and revokes them', async () => {
    const agent = new UserAgent();
    const { request, callback } = await deepLinkLogin(fed, agent, 'pupil-complete');
    const results = await Promise.allSettled([fed.rp.redeem(callback, request), fed.rp.redeem(callback, request)]);
    const winners = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof fed.rp.redeem>>> => r.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    const loser = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    expect(loser.reason).toMatchObject({ error: 'invalid_grant' });
    // The replay revoked the grant: the winner's access token no longer works.
    const token = winners[0]!.value.access_token;
    const introspection = await client.tokenIntrospection(fed.rp.configuration, token);
    expect(introspection.active).toBe(false);
    await expect(fed.rp.userinfo(token, winners[0]!.value.claims()!.sub)).rejects.toThrow();
  });

  it('revokes an access token through the revocation endpoint', async () => {
    const agent = new UserAgent();
    const { request, callback } = await deepLinkLogin(fed, agent, 'pupil-complete');
    const tokens = await fed.rp.redeem(callback, request);
    expect((await client.tokenIntrospection(fed.rp.configuration, tokens.access_token)).active).toBe(true);
    await client.tokenRevocation(fed.rp.configuration, tokens.access_token);
    expect((await client.tokenIntrospection(fed.rp.configuration, tokens.access_token)).active).toBe(false);
  });

  it('never writes names, learner numbers, codes or tokens to its log', async () => {
    const text = fed.bridge.logText();
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [
      'Aino',
      'Mansikka',
      'pupil-complete',
      '1.2.246.562.24.10000000001',
      RP_CLIENT.client_secret,
      fed.directoryIdp.clientSecret,
      'code=',
      'eyJ',
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
