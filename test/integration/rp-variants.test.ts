import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { importJWK } from 'jose';
import { deepLinkLogin, RP_CLIENT, RP_REDIRECT, signInAtDirectory, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { serviceEcKey } from '../support/keys.js';
import { parseForm, UserAgent } from '../support/user-agent.js';

const NATIVE_REDIRECT = 'fi.example.harjoitus:/oauth2redirect';

/** Services of every kind the bridge accepts, each signing a user in end to end. */
describe('services of different kinds', () => {
  let fed: Federation;
  let privateKey: CryptoKey;
  let keyServer: Server;
  beforeAll(async () => {
    const { d: _private, kid: _kid, ...publicPart } = serviceEcKey();
    privateKey = (await importJWK(serviceEcKey(), 'ES256')) as CryptoKey;
    const publicJwk = { ...publicPart, kid: 'service-key', alg: 'ES256', use: 'sig' };
    // The service publishes its public keys; the bridge fetches them (jwks_uri).
    keyServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
    await new Promise<void>((done) => keyServer.listen(0, '127.0.0.1', done));
    const jwksUri = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks`;
    fed = await startFederation({
      config: {
        clients: [
          RP_CLIENT,
          {
            client_id: 'post-service',
            client_secret: 'post-service-secret-0123456789',
            redirect_uris: [RP_REDIRECT],
            token_endpoint_auth_method: 'client_secret_post',
          },
          { client_id: 'jwt-service', redirect_uris: [RP_REDIRECT], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri },
          { client_id: 'native-app', redirect_uris: [NATIVE_REDIRECT], token_endpoint_auth_method: 'none', application_type: 'native' },
        ],
      } as never,
    });
  });
  afterAll(async () => {
    await fed?.stop();
    keyServer?.closeAllConnections();
    await new Promise<void>((done) => keyServer?.close(() => done()));
  });

  async function loginWith(configuration: client.Configuration, redirectUri: string, extra: Record<string, string> = {}) {
    const agent = new UserAgent('en');
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`,
      ...extra,
    });
    const login = await agent.navigate(url.href, { stopAt: redirectUri });
    const done = await agent.submit(login, { username: 'pupil-complete', password: 'pupil-completepwd', action: 'login' }, { stopAt: redirectUri });
    return { done, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
  }

  const discover = (clientId: string, auth: client.ClientAuth, metadata?: Partial<client.ClientMetadata>) =>
    client.discovery(new URL(fed.bridge.issuer), clientId, metadata, auth, { execute: [client.allowInsecureRequests] });

  it('client_secret_post', async () => {
    const configuration = await discover('post-service', client.ClientSecretPost('post-service-secret-0123456789'));
    const { done, checks } = await loginWith(configuration, RP_REDIRECT);
    const tokens = await client.authorizationCodeGrant(configuration, new URL(done.url), checks);
    expect(tokens.claims()!.given_name).toBe('Aino');
  });

  it('private_key_jwt', async () => {
    const configuration = await discover('jwt-service', client.PrivateKeyJwt({ key: privateKey, kid: 'service-key' }));
    const { done, checks } = await loginWith(configuration, RP_REDIRECT);
    const tokens = await client.authorizationCodeGrant(configuration, new URL(done.url), checks);
    expect(tokens.claims()!.given_name).toBe('Aino');
  });

  it('a native app: a public client with PKCE and a private-use URI scheme', async () => {
    const configuration = await discover('native-app', client.None());
    const { done, checks } = await loginWith(configuration, NATIVE_REDIRECT);
    expect(done.url.startsWith(`${NATIVE_REDIRECT}?`)).toBe(true);
    const tokens = await client.authorizationCodeGrant(configuration, new URL(done.url), checks);
    expect(tokens.claims()!.given_name).toBe('Aino');
    // Without the PKCE verifier the code is worth nothing.
    const again = await loginWith(configuration, NATIVE_REDIRECT);
    await expect(
      client.authorizationCodeGrant(configuration, new URL(again.done.url), { ...again.checks, pkceCodeVerifier: client.randomPKCECodeVerifier() }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('response_mode=form_post: an auto-submitting form the page CSP allows', async () => {
    const agent = new UserAgent('en');
    const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, response_mode: 'form_post' });
    const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const page = await signInAtDirectory(agent, login, 'pupil-complete');
    expect(page.status).toBe(200);
    const form = parseForm(page);
    expect(form.action).toBe(RP_REDIRECT);
    expect(form.fields.code).toEqual(expect.any(String));
    expect(form.fields.state).toBe(request.state);
    // The inline submit script is allowed by its hash, nothing else is.
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    const posted = new Request(RP_REDIRECT, { method: 'POST', body: new URLSearchParams(form.fields) });
    const tokens = await client.authorizationCodeGrant(fed.rp.configuration, posted, {
      pkceCodeVerifier: request.codeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    expect(tokens.claims()!.given_name).toBe('Aino');
  });

  it('id_token_hint of another user sends the browser to sign in again', async () => {
    const agent = new UserAgent('en');
    const first = await deepLinkLogin(fed, agent, 'pupil-complete');
    await fed.rp.redeem(first.callback, first.request);
    const other = await deepLinkLogin(fed, new UserAgent('en'), 'teacher');
    const otherTokens = await fed.rp.redeem(other.callback, other.request);
    const request = await fed.rp.authorizationRequest({ prompt: 'none', id_token_hint: otherTokens.id_token! });
    const answer = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(new URL(answer.url).searchParams.get('error')).toBe('login_required');
  });

  it('speaks Swedish when asked', async () => {
    const agent = new UserAgent('fi');
    const request = await fed.rp.authorizationRequest({ ui_locales: 'sv' });
    const chooser = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    expect(chooser.body).toContain('Välj din skola');
    expect(chooser.body).toContain('lang="sv"');
  });
});
