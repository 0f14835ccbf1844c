import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { CLAIM } from '../../src/claims/claim-names.js';
import { listeningHttpServer } from '../support/ports.js';
import { deepLinkLogin, RP_CLIENT, RP_REDIRECT, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { startDirectoryIdp } from '../support/directory-idp.js';
import { linksWithText, parseForm, UserAgent } from '../support/user-agent.js';

async function federationWith(idpOptions: Parameters<typeof startDirectoryIdp>[0], directoryConfig: Record<string, unknown>): Promise<Federation> {
  // The bridge's server listens first: the directory is told its callback, which names the port.
  const { server, port } = await listeningHttpServer();
  const directoryIdp = await startDirectoryIdp({ redirectUris: [`http://127.0.0.1:${port}/upstream/${SCHOOL_DIRECTORY_ID}/callback`], ...idpOptions });
  const fed = await startFederation({ server, directoryIdp, directoryConfig });
  return {
    ...fed,
    stop: async () => {
      await fed.stop();
      await directoryIdp.stop();
    },
  };
}

describe('directories that deliver differently', () => {
  it('reads attributes from userinfo and authenticates with client_secret_post when configured', async () => {
    const fed = await federationWith(
      { claimsInIdToken: false, tokenEndpointAuthMethod: 'client_secret_post' },
      { userinfo: true, tokenEndpointAuthMethod: 'client_secret_post' },
    );
    try {
      const { request, callback } = await deepLinkLogin(fed, new UserAgent(), 'pupil-complete');
      const claims = (await fed.rp.redeem(callback, request)).claims()!;
      expect(claims.given_name).toBe('Aino');
      expect(claims[CLAIM.role]).toEqual(['1.2.246.562.99.00000000001;30076;9F;Oppilas;1;1.2.246.562.99.00000000002;']);
    } finally {
      await fed.stop();
    }
  });

  it('without userinfo, a directory that keeps attributes out of the ID token gives no learner number: blocked', async () => {
    const fed = await federationWith({ claimsInIdToken: false }, {});
    try {
      const agent = new UserAgent('en');
      const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
      const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      const page = await agent.submit(login, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' }, { stopAt: RP_REDIRECT });
      expect(page.status).toBe(400);
      expect(page.body).toContain('the national learner number');
    } finally {
      await fed.stop();
    }
  });

  it("maps the directory's own claim names, and blocks a user whose unique id claim is missing", async () => {
    // This directory's unique id is its `nickname` claim and its roles come in `groups`.
    const fed = await federationWith({}, { attributeMapping: { username: 'nickname', roles: ['roles'] } });
    try {
      const ok = await deepLinkLogin(fed, new UserAgent(), 'pupil-complete');
      expect((await fed.rp.redeem(ok.callback, ok.request)).claims()![CLAIM.learnerId]).toBe('1.2.246.562.24.10000000001');

      const agent = new UserAgent('en');
      const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
      const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      const page = await agent.submit(login, { username: 'no-nickname', password: 'no-nicknamepwd', action: 'login' }, { stopAt: RP_REDIRECT });
      expect(page.status).toBe(400);
      expect(page.body).toContain('unique identifier');
      const back = await agent.navigate(linksWithText(page, 'Return to the service')[0]!, { stopAt: RP_REDIRECT });
      expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
    } finally {
      await fed.stop();
    }
  });
});

describe("an education provider's authority and restrictions", () => {
  it('drops the schools a directory is not registered for, and logs them', async () => {
    const fed = await federationWith({}, { schools: ['30078'] });
    try {
      const one = await deepLinkLogin(fed, new UserAgent(), 'pupil-complete');
      const alien = (await fed.rp.redeem(one.callback, one.request)).claims()!;
      expect(alien[CLAIM.schoolCode]).toBeUndefined();
      expect(alien[CLAIM.role]).toBeUndefined();
      expect(alien[CLAIM.learnerId]).toBe('1.2.246.562.24.10000000001');
      const two = await deepLinkLogin(fed, new UserAgent(), 'pupil-two-schools');
      const mixed = (await fed.rp.redeem(two.callback, two.request)).claims()!;
      expect(mixed[CLAIM.schoolCode]).toEqual(['30078']);
      expect(fed.bridge.logs.some((l) => l.msg === 'directory asserted a school it is not registered for' && l.schoolCode === '30076')).toBe(true);
    } finally {
      await fed.stop();
    }
  });

  it('accepts the schools of a registered education provider', async () => {
    const fed = await federationWith({}, { schools: ['1.2.246.562.99.00000000001'] });
    try {
      const { request, callback } = await deepLinkLogin(fed, new UserAgent(), 'semicolon-lists');
      // 30076 belongs to the registered provider; 30080 belongs to another one.
      expect((await fed.rp.redeem(callback, request)).claims()![CLAIM.schoolCode]).toEqual(['30076']);
    } finally {
      await fed.stop();
    }
  });

  it('keeps its users away from services it has not allowed', async () => {
    const fed = await federationWith({}, { allowedClients: ['some-other-service'] });
    try {
      const agent = new UserAgent('en');
      const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
      const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
      const page = await agent.submit(login, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' }, { stopAt: RP_REDIRECT });
      expect(page.status).toBe(400);
      expect(page.body).toContain('Your school has not allowed this service');
      const back = await agent.navigate(linksWithText(page, 'Return to the service')[0]!, { stopAt: RP_REDIRECT });
      expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
    } finally {
      await fed.stop();
    }
  });
});

describe('signing out', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ config: { clients: [{ ...RP_CLIENT, post_logout_redirect_uris: ['http://127.0.0.1:9/signed-out'] }] } });
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it('ends the SSO session on RP-initiated logout after the user confirms', async () => {
    const agent = new UserAgent('en');
    const { request, callback } = await deepLinkLogin(fed, agent, 'pupil-complete');
    const tokens = await fed.rp.redeem(callback, request);
    const logoutUrl = client.buildEndSessionUrl(fed.rp.configuration, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out',
      state: 'bye',
    });
    const confirm = await agent.navigate(logoutUrl.href, { stopAt: 'http://127.0.0.1:9/' });
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('Do you want to sign out');
    expect(confirm.headers.get('x-frame-options')).toBe('DENY');
    const form = parseForm(confirm);
    const done = await agent.navigate(form.action, { form: { ...form.fields, logout: 'yes' }, stopAt: 'http://127.0.0.1:9/' });
    expect(done.url).toBe('http://127.0.0.1:9/signed-out?state=bye');

    const again = await fed.rp.authorizationRequest({ prompt: 'none' });
    const answer = await agent.navigate(again.url.href, { stopAt: RP_REDIRECT });
    expect(new URL(answer.url).searchParams.get('error')).toBe('login_required');
  });
});
