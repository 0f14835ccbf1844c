import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import * as client from 'openid-client';
import { hashPassword } from '../../src/admin/passwords.js';
import { parseConfig } from '../../src/config/load.js';
import { createDeployment } from '../../src/deployment.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/types.js';
import { loadTestUsers } from '../../src/testdirectory/users.js';
import { CLIENT_REFUSED, RP_REDIRECT, SERVICE_REDIRECT, signInAtDirectory } from '../support/federation.js';
import { listenOnLoopback } from '../support/ports.js';
import { RelyingParty } from '../support/relying-party.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from '../support/directory-idp.js';
import { UserAgent } from '../support/user-agent.js';
import { environmentJwks, testSecrets } from '../support/keys.js';

const AUTH = `Basic ${Buffer.from('operator:operator-password').toString('base64')}`;

/** One process serving the test and production environments under two paths of one host. */
describe('several environments in one deployment', () => {
  let server: Server;
  let storage: Storage;
  let directoryIdp: DirectoryIdpHandle;
  let origin: string;
  const issuer = (name: string) => `${origin}/${name}`;

  beforeAll(async () => {
    // The server listens first: the issuers and the directory's redirect URIs name its port.
    server = createServer();
    const port = await listenOnLoopback(server);
    origin = `http://127.0.0.1:${port}`;
    directoryIdp = await startDirectoryIdp({ redirectUris: ['test', 'demo', 'production'].map((e) => `${origin}/${e}/upstream/school-a/callback`) });
    const secrets = { ...testSecrets(), environmentJwks: { test: environmentJwks.second(), production: environmentJwks.third() } };
    const config = parseConfig({
      env: 'test',
      logLevel: 'silent',
      environments: [
        { name: 'test', issuer: `${origin}/test` },
        { name: 'demo', issuer: `${origin}/demo` },
        { name: 'production', issuer: `${origin}/production` },
      ],
      admin: { operators: [{ username: 'operator', passwordHash: await hashPassword('operator-password') }], allowInMemoryRecords: true },
      upstreams: [
        {
          id: 'school-a',
          displayName: { fi: 'Koulu A' },
          issuer: directoryIdp.issuer,
          clientId: directoryIdp.clientId,
          clientSecret: directoryIdp.clientSecret,
        },
      ],
    });
    storage = createMemoryStorage();
    const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
    const { app } = createDeployment({
      config,
      secrets,
      storage,
      logger,
      testUsers: loadTestUsers(resolve('config/test-users.json')),
      demoUsers: loadTestUsers(resolve('config/demo-users.json')),
    });
    server.on('request', app.callback());
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((done) => server?.close(() => done()));
    await storage?.close();
    await directoryIdp?.stop();
  });

  const json = async (url: string, init?: RequestInit) => (await (await fetch(url, init)).json()) as Record<string, any>;

  it('serves each environment as its own issuer with its own keys', async () => {
    const test = await json(`${issuer('test')}/.well-known/openid-configuration`);
    const production = await json(`${issuer('production')}/.well-known/openid-configuration`);
    expect(test.issuer).toBe(issuer('test'));
    expect(production.issuer).toBe(issuer('production'));
    expect(test.authorization_endpoint).toBe(`${issuer('test')}/auth`);
    const kids = async (url: string) => ((await json(url)).keys as Array<{ kid: string }>).map((k) => k.kid);
    const [testKids, productionKids] = [await kids(test.jwks_uri), await kids(production.jwks_uri)];
    expect(testKids.some((kid) => productionKids.includes(kid))).toBe(false);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin}/elsewhere`)).status).toBe(404);
  });

  it('offers test users in test, demo users in demo, and no bundled directory in production', async () => {
    expect((await fetch(`${issuer('test')}/test-directory/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`${issuer('production')}/test-directory/.well-known/openid-configuration`)).status).toBe(404);
    const chooser = async (name: string) => {
      const rp = await RelyingParty.discover({ issuer: issuer(name), clientId: 'nobody', clientSecret: 'x', redirectUri: SERVICE_REDIRECT });
      return rp.configuration.serverMetadata().acr_values_supported;
    };
    // Discovery names the directories each environment offers: the real school only in production.
    // (The test environment also bundles a Wilma and an Opinsys test directory.)
    expect([...(await chooser('test'))!].sort()).toEqual(['test-opinsys', 'test-school', 'test-wilma'].map((id) => `urn:mpass.id:authnsource:${id}`));
    expect(await chooser('demo')).toEqual(['urn:mpass.id:authnsource:test-school']);
    expect(await chooser('production')).toEqual(['urn:mpass.id:authnsource:school-a']);
    const demoLogin = await fetch(`${issuer('demo')}/test-directory/.well-known/openid-configuration`);
    expect(((await demoLogin.json()) as { issuer: string }).issuer).toBe(`${issuer('demo')}/test-directory`);
  });

  it('promotes a service registered once from test to production by an operator approval', async () => {
    const token = await json(`${issuer('test')}/admin/api/initial-access-tokens`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: '{}',
    });
    const service = await json(`${issuer('test')}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.initialAccessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Harjoituskirja', redirect_uris: [SERVICE_REDIRECT] }),
    });
    expect(service.client_id).toBeDefined();

    // The test environment offers only test directories; real schools are reached only in production.
    const login = async (name: string) => {
      const rp = await RelyingParty.discover({
        issuer: issuer(name),
        clientId: service.client_id,
        clientSecret: service.client_secret,
        redirectUri: SERVICE_REDIRECT,
      });
      const agent = new UserAgent('en');
      const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${name === 'production' ? 'school-a' : 'test-school'}` });
      const page = await agent.navigate(request.url.href, { stopAt: SERVICE_REDIRECT });
      if (!page.body.includes('name="username"')) return { refused: page };
      const done = await signInAtDirectory(agent, page, 'pupil-complete', SERVICE_REDIRECT);
      return { tokens: await rp.redeem(done.url, request), rp };
    };

    const atTest = await login('test');
    expect(atTest.tokens!.claims()!.iss).toBe(issuer('test'));
    expect(atTest.tokens!.claims()!.given_name).toBe('Aino');
    const refused = await login('production');
    expect(refused.refused?.status).toBe(400);

    const approved = await fetch(`${issuer('production')}/admin/api/clients/${service.client_id}/approve`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(approved.status).toBe(200);
    const atProduction = await login('production');
    expect(atProduction.tokens!.claims()!.iss).toBe(issuer('production'));
    expect(atProduction.tokens!.claims()!.given_name).toBe('Aino');
    // Separate sessions and tokens: the test environment's token is nothing at production.
    await expect(atProduction.rp!.userinfo(atTest.tokens!.access_token, atTest.tokens!.claims()!.sub)).rejects.toThrow();
  });

  it("keeps the two environments' sessions apart in one browser", async () => {
    const rpTest = await RelyingParty.discover({
      issuer: issuer('test'),
      clientId: 'attribute-test-service',
      clientSecret: 'unused-here',
      redirectUri: RP_REDIRECT,
    });
    expect(rpTest.configuration.serverMetadata().issuer).toBe(issuer('test'));
    const agent = new UserAgent('en');
    const page = await agent.navigate(`${issuer('test')}/attribute-test/login?upstream=test-school`, { stopAt: `${issuer('test')}/attribute-test/callback` });
    const done = await signInAtDirectory(agent, page, 'pupil-complete');
    expect(done.status).toBe(200);
    const names = agent.history.flatMap((p) => p.headers.getSetCookie().map((c) => c.split('=')[0]));
    expect(names).toContain('mpass_test_session');
    expect(names.some((n) => n?.startsWith('mpass_production'))).toBe(false);
  });

  it('signs demo users in at the demo environment, and test users only at test', async () => {
    const metadata = { client_name: 'Demo service', redirect_uris: [SERVICE_REDIRECT] };
    const token = await json(`${issuer('test')}/admin/api/initial-access-tokens`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: '{}',
    });
    const service = await json(`${issuer('test')}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.initialAccessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    await fetch(`${issuer('demo')}/admin/api/clients/${service.client_id}/publish-to-demo`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: '{}',
    });
    const rp = await RelyingParty.discover({
      issuer: issuer('demo'),
      clientId: service.client_id,
      clientSecret: service.client_secret,
      redirectUri: SERVICE_REDIRECT,
    });
    const attempt = async (username: string) => {
      const agent = new UserAgent('en');
      const request = await rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:test-school' });
      const page = await agent.navigate(request.url.href, { stopAt: SERVICE_REDIRECT });
      expect(page.body).toContain('demo_d0001');
      expect(page.body).not.toContain('pupil-complete');
      return { page: await agent.submit(page, { username, password: `${username}pwd`, action: 'login' }, { stopAt: SERVICE_REDIRECT }), request };
    };
    expect((await attempt('pupil-complete')).page.status).toBe(401);
    const { page, request } = await attempt('demo_d0001');
    const claims = (await rp.redeem(page.url, request)).claims()!;
    expect(claims.iss).toBe(issuer('demo'));
    expect(claims.given_name).toBe('Daniel');
  });

  it('issues refresh tokens only once operators allowed them and the service asked for them', async () => {
    const headers = { authorization: AUTH, 'content-type': 'application/json' };
    const token = await json(`${issuer('test')}/admin/api/initial-access-tokens`, { method: 'POST', headers, body: '{}' });
    const service = await json(`${issuer('test')}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.initialAccessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Offline service', redirect_uris: [SERVICE_REDIRECT] }),
    });
    const login = async () => {
      const rp = await RelyingParty.discover({
        issuer: issuer('test'),
        clientId: service.client_id,
        clientSecret: service.client_secret,
        redirectUri: SERVICE_REDIRECT,
      });
      const agent = new UserAgent('en');
      const request = await rp.authorizationRequest({ acr_values: 'urn:mpass.id:authnsource:test-school' });
      const page = await agent.navigate(request.url.href, { stopAt: SERVICE_REDIRECT });
      const done = await signInAtDirectory(agent, page, 'pupil-complete', SERVICE_REDIRECT);
      return { rp, tokens: await rp.redeem(done.url, request) };
    };
    expect((await login()).tokens.refresh_token).toBeUndefined();

    const allowed = await fetch(`${issuer('test')}/admin/api/clients/${service.client_id}/settings`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ refreshTokens: true }),
    });
    expect(allowed.status).toBe(200);
    const {
      registration_access_token: rat,
      registration_client_uri: uri,
      client_id_issued_at: _i,
      client_secret_expires_at: _e,
      ...metadata
    } = await json(service.registration_client_uri, {
      headers: { authorization: `Bearer ${service.registration_access_token}` },
    });
    const updated = await fetch(uri, {
      method: 'PUT',
      headers: { authorization: `Bearer ${rat ?? service.registration_access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...metadata, grant_types: ['authorization_code', 'refresh_token'] }),
    });
    expect(updated.status).toBe(200);

    const { rp, tokens } = await login();
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const refreshed = await client.refreshTokenGrant(rp.configuration, tokens.refresh_token!);
    expect(refreshed.access_token).toEqual(expect.any(String));
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    await fetch(`${issuer('test')}/admin/api/clients/${service.client_id}/suspend`, { method: 'POST', headers, body: '{}' });
    await expect(client.refreshTokenGrant(rp.configuration, refreshed.refresh_token ?? tokens.refresh_token!)).rejects.toMatchObject(CLIENT_REFUSED);
  });
});
