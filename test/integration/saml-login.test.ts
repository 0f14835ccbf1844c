import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { CLAIM } from '../../src/claims/claim-names.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { loadTestUsers } from '../../src/testdirectory/users.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { RP_CLIENT, RP_REDIRECT } from '../support/federation.js';
import { listeningHttpServer } from '../support/ports.js';
import { RelyingParty } from '../support/relying-party.js';
import { startSimpleSamlPhp, type SimpleSamlPhpHandle } from '../support/simplesamlphp.js';
import { extractForms, linksWithText, UserAgent, type Page } from '../support/user-agent.js';
import { testSecrets } from '../support/keys.js';

const USERS = loadTestUsers(resolve('config/test-users.json'));
/** Signed assertion in a signed response, AD FS attribute names, several AttributeValues. */
const ADFS = 'saml-adfs';
/** Signed and encrypted assertion (the response itself unsigned), AD FS names; the directory requires encryption. */
const ENCRYPTED = 'saml-encrypted';
/** Google Workspace attribute names, multi-valued attributes as one `;`-separated value. */
const GOOGLE = 'saml-google';
const TEST_NUMBERS_CLIENT = {
  client_id: 'test-numbers-service',
  client_secret: 'test-numbers-secret-0123456789abcdef',
  redirect_uris: [RP_REDIRECT],
  allowTestLearnerIds: true,
};

/**
 * Logins through a real SAML identity provider: SimpleSAMLphp under its own Apache, with the test
 * catalogue's users. Each directory of the bridge is a service provider there.
 */
describe('SAML directories: logins through SimpleSAMLphp', () => {
  let ssp: SimpleSamlPhpHandle;
  let bridge: BridgeHandle;
  let secrets: BridgeSecrets;
  let rp: RelyingParty;
  let testNumbersRp: RelyingParty;

  beforeAll(async () => {
    // The bridge's server listens first: the IdP is told the SP entity ids and ACS URLs, which name its port.
    const { server, port } = await listeningHttpServer();
    const issuer = `http://127.0.0.1:${port}`;
    secrets = testSecrets();
    const sp = (id: string) => ({
      entityId: `${issuer}/upstream/${id}/saml/metadata`,
      acsUrl: `${issuer}/upstream/${id}/callback`,
      signingCert: secrets.saml.signing[0]!.cert,
      encryptionCert: secrets.saml.encryption[0]!.cert,
    });
    ssp = await startSimpleSamlPhp({
      users: USERS,
      serviceProviders: [{ ...sp(ADFS) }, { ...sp(ENCRYPTED), encryptAssertion: true, signResponse: false }, { ...sp(GOOGLE), googleStyle: true }],
    });
    const directory = (id: string, name: string, extra: Record<string, unknown> = {}) => ({
      type: 'saml',
      id,
      displayName: { fi: name, sv: name, en: name },
      metadataUrl: ssp.metadataUrl,
      uniqueIdAttribute: 'mpassUserIdentity',
      accounts: 'test',
      ...extra,
    });
    bridge = await startBridge({
      server,
      secrets,
      config: {
        clients: [RP_CLIENT, TEST_NUMBERS_CLIENT],
        upstreams: [
          directory(ADFS, 'SAML AD FS'),
          directory(ENCRYPTED, 'SAML salattu', { requireEncryptedAssertions: true }),
          directory(GOOGLE, 'SAML Google'),
        ],
        directories: { healthCheckIntervalSeconds: 0 },
      } as never,
    });
    rp = await RelyingParty.discover({ issuer: bridge.issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
    testNumbersRp = await RelyingParty.discover({
      issuer: bridge.issuer,
      clientId: TEST_NUMBERS_CLIENT.client_id,
      clientSecret: TEST_NUMBERS_CLIENT.client_secret,
      redirectUri: RP_REDIRECT,
    });
  }, 60_000);

  afterAll(async () => {
    await bridge?.stop();
    await ssp?.stop();
  });

  /** The AuthnRequest a redirect to the identity provider carries. */
  function authnRequestOf(url: string): string {
    const encoded = new URL(url).searchParams.get('SAMLRequest');
    expect(encoded).toBeTruthy();
    return inflateRawSync(Buffer.from(encoded!, 'base64')).toString('utf8');
  }

  /** From the bridge to the identity provider and back; the page the login ended on (or the service's callback). */
  async function login(directoryId: string, username: string, options: { agent?: UserAgent; service?: RelyingParty; extra?: Record<string, string> } = {}) {
    const agent = options.agent ?? new UserAgent('en');
    const service = options.service ?? rp;
    const request = await service.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${directoryId}`, ...options.extra });
    const atIdp = await agent.navigate(request.url.href, { stopAt: ssp.baseUrl });
    expect(atIdp.url.startsWith(`${ssp.baseUrl}/saml2/idp/SSOService.php`)).toBe(true);
    const authnRequest = authnRequestOf(atIdp.url);
    let page = await agent.get(atIdp.url, { stopAt: RP_REDIRECT });
    let askedPassword = false;
    let samlResponse = '';
    if (page.body.includes('name="password"')) {
      askedPassword = true;
      const form = extractForms(page).find((f) => 'password' in f.fields)!;
      page = await agent.postForm(
        form.action,
        { ...form.fields, username, password: USERS.find((u) => u.username === username)!.password },
        { stopAt: RP_REDIRECT },
      );
    }
    // SimpleSAMLphp's page that posts the response to the bridge (a browser submits it by script).
    if (!page.url.startsWith(RP_REDIRECT)) {
      const post = extractForms(page).find((f) => 'SAMLResponse' in f.fields);
      if (!post) throw new Error(`no SAML response form from SimpleSAMLphp: ${page.body.slice(0, 1000)}\n${ssp.logs().slice(-2000)}`);
      expect(post.action).toBe(`${bridge.issuer}/upstream/${directoryId}/callback`);
      samlResponse = Buffer.from(post.fields.SAMLResponse!, 'base64').toString('utf8');
      page = await agent.postForm(post.action, post.fields, { stopAt: RP_REDIRECT });
    }
    return { page, request, agent, authnRequest, askedPassword, service, samlResponse };
  }

  /** The claims a service receives for this login (ID token and userinfo agree), or the error it gets. */
  async function outcome(result: { page: Page; request: Awaited<ReturnType<RelyingParty['authorizationRequest']>>; agent: UserAgent; service: RelyingParty }) {
    let { page } = result;
    if (!page.url.startsWith(RP_REDIRECT)) {
      const [back] = linksWithText(page, 'Return to the service');
      if (!back) throw new Error(`login ended on ${page.url} (${page.status}): ${page.body.slice(0, 500)}`);
      page = await result.agent.navigate(back, { stopAt: RP_REDIRECT });
      return {
        error: new URL(page.url).searchParams.get('error'),
        status: result.page.status,
        message: result.page.body.match(/<p class="error-message">[\s\S]*?<\/p>/)?.[0] ?? '',
      };
    }
    const tokens = await result.service.redeem(page.url, result.request);
    const idToken = tokens.claims()!;
    const userinfo = await result.service.userinfo(tokens.access_token, idToken.sub);
    return { claims: userinfo as Record<string, unknown>, acr: idToken.acr };
  }

  /** The same login through the bundled OIDC test directory (the catalogue's reference). */
  async function oidcOutcome(username: string, service = rp) {
    const agent = new UserAgent('en');
    const request = await service.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${bridge.config.testDirectory.upstreamId}` });
    const form = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const page = await agent.submit(
      form,
      { username, password: USERS.find((u) => u.username === username)!.password, action: 'login' },
      { stopAt: RP_REDIRECT },
    );
    return outcome({ page, request, agent, service });
  }

  it('publishes SP metadata per directory at its entity id: ACS with HTTP-POST, signing and encryption certificates', async () => {
    const response = await fetch(`${bridge.issuer}/upstream/${ADFS}/saml/metadata`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const xml = await response.text();
    expect(xml).toContain(`entityID="${bridge.issuer}/upstream/${ADFS}/saml/metadata"`);
    expect(xml).toContain(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${bridge.issuer}/upstream/${ADFS}/callback"`);
    expect(xml).toContain('AuthnRequestsSigned="true"');
    const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');
    expect(xml.replace(/\s/g, '')).toContain(body(secrets.saml.signing[0]!.cert));
    expect(xml.replace(/\s/g, '')).toContain(body(secrets.saml.encryption[0]!.cert));
    expect((await fetch(`${bridge.issuer}/upstream/${bridge.config.testDirectory.upstreamId}/saml/metadata`)).status).toBe(404);
    expect((await fetch(`${bridge.issuer}/upstream/no-such-directory/saml/metadata`)).status).toBe(404);
  });

  it('signs the AuthnRequest (HTTP-Redirect) and logs in with a signed assertion, AD FS attribute names', async () => {
    const result = await login(ADFS, 'pupil-complete');
    expect(new URL(result.request.url).searchParams.get('acr_values')).toContain(ADFS);
    expect(result.authnRequest).not.toContain('ForceAuthn');
    expect(result.authnRequest).toContain(`AssertionConsumerServiceURL="${bridge.issuer}/upstream/${ADFS}/callback"`);
    const atIdp = result.agent.history.find((p) => p.headers.get('location')?.startsWith(ssp.baseUrl));
    const redirect = new URL(atIdp!.headers.get('location')!);
    expect(redirect.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(redirect.searchParams.get('Signature')).toBeTruthy();
    const got = await outcome(result);
    expect(got.acr).toBe(`urn:mpass.id:authnsource:${ADFS}`);
    expect(got.claims).toMatchObject({
      given_name: 'Aino',
      family_name: 'Mansikka',
      [CLAIM.learnerId]: '1.2.246.562.24.10000000001',
      [CLAIM.schoolCode]: ['30076'],
    });
    expect(got.claims![CLAIM.originalIssuer]).toBe(ssp.metadataUrl);
  });

  it('logs in with a signed and encrypted assertion', async () => {
    const result = await login(ENCRYPTED, 'pupil-two-schools');
    expect(result.samlResponse).toContain('EncryptedAssertion');
    expect(result.samlResponse).not.toContain('Kaisa');
    const got = await outcome(result);
    expect(got.claims).toMatchObject({ given_name: 'Kaisa', [CLAIM.schoolCode]: ['30076', '30078'] });
  });

  it('reads Google Workspace attribute names with ;-separated values', async () => {
    const result = await login(GOOGLE, 'pupil-two-schools');
    // What SimpleSAMLphp sent is what Google Workspace sends.
    expect(result.samlResponse).toContain('Name="firstName"');
    expect(result.samlResponse).not.toContain('mpassGivenName');
    expect(result.samlResponse).toMatch(/Name="schoolCode"[^>]*>\s*<saml:AttributeValue[^>]*>30076;30078</);
    const got = await outcome(result);
    expect(got.claims).toMatchObject({ given_name: 'Kaisa', [CLAIM.schoolCode]: ['30076', '30078'] });
  });

  it('asks for a fresh login (ForceAuthn) for prompt=login and max_age; without it the IdP session signs in again', async () => {
    const agent = new UserAgent('en');
    const first = await login(ADFS, 'teacher', { agent });
    expect(first.askedPassword).toBe(true);
    expect((await outcome(first)).claims).toBeDefined();
    const again = await login(ADFS, 'teacher', { agent, extra: { prompt: 'login' } });
    expect(again.authnRequest).toContain('ForceAuthn="true"');
    expect(again.askedPassword).toBe(true);
    expect((await outcome(again)).claims).toBeDefined();
    const maxAge = await login(ADFS, 'teacher', { agent, extra: { max_age: '0' } });
    expect(maxAge.authnRequest).toContain('ForceAuthn="true"');
    expect(maxAge.askedPassword).toBe(true);
  });

  it('reports the directory healthy: metadata reachable and valid', async () => {
    await bridge.bridge.health.checkNow();
    const health = bridge.bridge.health.statusOf(ADFS);
    expect(health).toMatchObject({ status: 'up', failures: 0 });
    expect(health?.lastError).toBeUndefined();
  });

  it('every catalogue user: the same claims through SAML (AD FS names, and Google names with ;-separated values) as through the OIDC test directory', async () => {
    // What must differ: the account is another one (another directory), so sub and uid differ, and
    // originalIssuer names the directory. Everything else a service receives must be identical.
    const comparable = (result: Awaited<ReturnType<typeof outcome>>) => {
      if (!result.claims) return { error: result.error, status: result.status, message: result.message };
      const { sub: _sub, [CLAIM.uid]: _uid, [CLAIM.originalIssuer]: _issuer, ...rest } = result.claims;
      return { claims: rest };
    };
    for (const user of USERS) {
      const service = user.username === 'test-learner-id' ? testNumbersRp : rp;
      const reference = comparable(await oidcOutcome(user.username, service));
      for (const directoryId of [ADFS, GOOGLE]) {
        const saml = comparable(await outcome(await login(directoryId, user.username, { service })));
        expect({ user: user.username, directoryId, ...saml }).toEqual({ user: user.username, directoryId, ...reference });
      }
    }
  }, 240_000);

  it('keeps names and assertions out of the logs', () => {
    const logs = bridge.logText();
    expect(logs).not.toContain('Mansikka');
    expect(logs).not.toContain('1.2.246.562.24.10000000001');
    expect(logs).not.toContain('SAMLResponse=');
    expect(logs).not.toContain('<saml:Assertion');
  });
});
