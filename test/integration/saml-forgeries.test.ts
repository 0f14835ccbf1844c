import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateSamlKeyPair, type SamlKeyPair } from '../../src/config/saml-keys.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { RP_CLIENT, RP_REDIRECT } from '../support/federation.js';
import { listeningHttpServer } from '../support/ports.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { RelyingParty } from '../support/relying-party.js';
import { assertionXml, encode, forgeIdpMetadata, FORGE_SSO_URL, newId, requestIdOf, responseXml, sign, type AssertionFields } from '../support/saml-forge.js';
import { linksWithText, textOf, UserAgent, type Page } from '../support/user-agent.js';
import { samlKeyPairs, testSecrets } from '../support/keys.js';

const DIRECTORY = 'saml-forge';
const IDP = 'https://idp.forge.example/saml';
const COMPLETE_USER = {
  mpassGivenName: ['Aino'],
  mpassSurname: ['Mansikka'],
  mpassLearnerId: ['1.2.246.562.24.10000000001'],
  mpassSchoolCode: ['30076'],
  mpassClassCode: ['9F'],
  mpassClassLevel: ['9'],
  mpassUserRole: ['oppilas'],
};

/**
 * A corpus of forged and faulty SAML responses, each posted by the browser to the directory's real
 * callback during a login it started: every one ends on the bridge's error page (never a 500) and
 * the service gets access_denied. Responses are signed with a test IdP key through xml-crypto.
 */
describe('SAML responses the bridge must refuse', () => {
  let redis: RedisServerHandle;
  let a: BridgeHandle;
  let b: BridgeHandle;
  let rp: RelyingParty;
  let idpKey: SamlKeyPair;
  let otherKey: SamlKeyPair;
  let spEntityId: string;
  let acs: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    [idpKey, otherKey] = [samlKeyPairs.idp(), samlKeyPairs.otherIdp()];
    // Certificates about their dates are made here.
    const expiring = await generateSamlKeyPair('expiring IdP', 10);
    const expired = await generateSamlKeyPair('expired IdP', 30, new Date(Date.now() - 60 * 86_400_000));
    const secrets = testSecrets();
    // The bridge's server listens first: the SP entity id and ACS URL name its port.
    const { server, port } = await listeningHttpServer();
    const issuer = `http://127.0.0.1:${port}`;
    spEntityId = `${issuer}/upstream/${DIRECTORY}/saml/metadata`;
    acs = `${issuer}/upstream/${DIRECTORY}/callback`;
    const directory = (id: string, metadata: string) => ({
      type: 'saml',
      id,
      displayName: { fi: id, sv: id, en: id },
      metadata,
      accounts: 'test',
    });
    const config = {
      redis: { url: redis.url, commandTimeoutMs: 1000 },
      clients: [RP_CLIENT],
      upstreams: [
        directory(DIRECTORY, forgeIdpMetadata(IDP, [idpKey.cert])),
        directory('saml-expiring', forgeIdpMetadata('https://expiring.example/saml', [expiring.cert])),
        directory('saml-expired', forgeIdpMetadata('https://expired.example/saml', [expired.cert])),
        directory('saml-outdated', forgeIdpMetadata('https://outdated.example/saml', [idpKey.cert], new Date(Date.now() - 3600_000))),
      ],
      directories: { healthCheckIntervalSeconds: 0 },
    } as never;
    // Two instances of one deployment: the same issuer, secrets and Redis.
    a = await startBridge({ server, secrets, config });
    b = await startBridge({ secrets, config, issuer });
    rp = await RelyingParty.discover({ issuer: a.issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT });
  }, 60_000);

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  /** Starts a login at the directory; where the bridge sent the browser, and the request id. */
  async function start(agent = new UserAgent('en'), directoryId = DIRECTORY) {
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${directoryId}` });
    const atIdp = await agent.navigate(request.url.href, { stopAt: FORGE_SSO_URL });
    return { agent, request, atIdp, requestId: atIdp.status === 0 ? requestIdOf(atIdp.url) : '' };
  }

  const fields = (requestId: string | undefined, extra: Partial<AssertionFields> = {}): AssertionFields => ({
    issuer: IDP,
    inResponseTo: requestId,
    audience: spEntityId,
    recipient: acs,
    destination: acs,
    attributes: COMPLETE_USER,
    ...extra,
  });

  /** A well-formed response: the assertion signed, the response around it signed too if asked. */
  function valid(requestId: string | undefined, extra: Partial<AssertionFields> = {}, signResponse = false): string {
    const f = fields(requestId, extra);
    const response = responseXml(f, sign(assertionXml(f), 'Assertion', idpKey));
    return signResponse ? sign(response, 'Response', idpKey) : response;
  }

  /** Posts the response as the identity provider's page would, to this instance's callback. */
  async function post(agent: UserAgent, samlResponse: string, instance = a): Promise<Page> {
    return agent.postForm(`http://127.0.0.1:${instance.port}/upstream/${DIRECTORY}/callback`, { SAMLResponse: samlResponse }, { stopAt: RP_REDIRECT });
  }

  async function expectRefused(agent: UserAgent, page: Page, text = "school's sign-in service") {
    expect(page.status).toBe(400);
    expect(textOf(page.body)).toContain(text);
    expect(page.body).not.toMatch(/at \w+ \(|Error:|<saml/);
    const [back] = linksWithText(page, 'Return to the service');
    expect(back).toBeDefined();
    const end = await agent.navigate(back!, { stopAt: RP_REDIRECT });
    expect(new URL(end.url).searchParams.get('error')).toBe('access_denied');
  }

  async function refusedFor(make: (requestId: string) => string, instance = a) {
    const { agent, requestId } = await start();
    const page = await post(agent, encode(make(requestId)), instance);
    await expectRefused(agent, page);
  }

  it('accepts a valid response (the corpus is otherwise right)', async () => {
    const { agent, request, requestId } = await start();
    const page = await post(agent, encode(valid(requestId)));
    expect(page.url.startsWith(RP_REDIRECT)).toBe(true);
    const tokens = await rp.redeem(page.url, request);
    expect(tokens.claims()!.given_name).toBe('Aino');
  });

  it('refuses an unsigned assertion inside a signed response', async () => {
    await refusedFor((id) => {
      const f = fields(id);
      return sign(responseXml(f, assertionXml(f)), 'Response', idpKey);
    });
  });

  it('refuses an assertion signed with a key not in the metadata', async () => {
    await refusedFor((id) => {
      const f = fields(id);
      return responseXml(f, sign(assertionXml(f), 'Assertion', otherKey));
    });
  });

  it('refuses signature wrapping: a second assertion beside the signed one', async () => {
    await refusedFor((id) => {
      const f = fields(id);
      const signed = sign(assertionXml(f), 'Assertion', idpKey);
      const evil = assertionXml({ ...f, nameId: 'victim', attributes: { ...COMPLETE_USER, mpassGivenName: ['Mallory'] } });
      return responseXml(f, evil + signed);
    });
    await refusedFor((id) => {
      const f = fields(id);
      const signed = sign(assertionXml(f), 'Assertion', idpKey);
      const evil = assertionXml({ ...f, nameId: 'victim' });
      return responseXml(f, signed + evil);
    });
  });

  it('refuses signature wrapping: the signed assertion moved inside an unsigned one with its ID', async () => {
    await refusedFor((id) => {
      const f = fields(id);
      const assertionId = newId();
      const signed = sign(assertionXml({ ...f, assertionId }), 'Assertion', idpKey);
      // The evil assertion takes the signed one's ID and carries it in its Subject, where a naive
      // verifier finds the referenced element and the signature valid.
      const evil = assertionXml({ ...f, assertionId, nameId: 'victim' }).replace('</saml:Subject>', `</saml:Subject><saml:Advice>${signed}</saml:Advice>`);
      return responseXml(f, evil);
    });
    await refusedFor((id) => {
      const f = fields(id);
      const signed = sign(assertionXml(f), 'Assertion', idpKey);
      const evil = assertionXml({ ...f, nameId: 'victim' });
      // The signed original hidden in the response's Extensions, the evil one in its place.
      return responseXml(f, `<samlp:Extensions>${signed}</samlp:Extensions>${evil}`);
    });
  });

  it('refuses a comment inside the NameID (truncation attack)', async () => {
    await refusedFor((id) => {
      const signed = valid(id, { nameId: 'victim@school.example.evil.example' });
      return signed.replace('victim@school.example.evil.example', 'victim@school.example<!---->.evil.example');
    });
  });

  it('refuses a changed attribute value (the digest no longer matches)', async () => {
    await refusedFor((id) => valid(id).replace('>Aino<', '>Mallory<'));
  });

  it('refuses a wrong audience, destination, recipient or issuer', async () => {
    await refusedFor((id) => valid(id, { audience: 'https://other-sp.example/metadata' }));
    await refusedFor((id) => valid(id, { destination: 'https://other-sp.example/acs' }));
    await refusedFor((id) => valid(id, { recipient: 'https://other-sp.example/acs' }));
    await refusedFor((id) => valid(id, { issuer: 'https://other-idp.example/saml' }));
  });

  it('refuses an expired assertion and one not yet valid (beyond the clock tolerance)', async () => {
    await refusedFor((id) => valid(id, { notBeforeOffsetMs: -3600_000, notOnOrAfterOffsetMs: -600_000 }));
    await refusedFor((id) => valid(id, { notBeforeOffsetMs: 600_000, notOnOrAfterOffsetMs: 1200_000 }));
  });

  it('refuses an unsolicited (IdP-initiated) response', async () => {
    await refusedFor(() => valid(undefined));
    await refusedFor(() => valid(undefined, {}, true));
  });

  it("refuses a response made for another browser's request", async () => {
    const other = await start();
    const mine = await start();
    const page = await post(mine.agent, encode(valid(other.requestId)));
    await expectRefused(mine.agent, page);
  });

  it('refuses a replayed assertion, also at another instance', async () => {
    const assertionId = newId();
    const first = await start();
    const ok = await post(first.agent, encode(valid(first.requestId, { assertionId })));
    expect(ok.url.startsWith(RP_REDIRECT)).toBe(true);
    // The same assertion again, in a new login whose request id it even names: refused on B.
    const again = await start();
    const page = await post(again.agent, encode(valid(again.requestId, { assertionId })), b);
    await expectRefused(again.agent, page);
  });

  it('refuses a DTD / entity payload before parsing it', async () => {
    await refusedFor((id) => `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${valid(id).replace('>Aino<', '>&x;<')}`);
    await refusedFor((id) => `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>${valid(id)}`);
  });

  it('refuses garbage, an empty form and a GET to the callback with a page, never a 500', async () => {
    for (const samlResponse of [
      '',
      'not base64 at all!',
      encode('<not-xml'),
      encode('<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'),
    ]) {
      const { agent } = await start();
      const page = samlResponse
        ? await post(agent, samlResponse)
        : await agent.postForm(`${a.issuer}/upstream/${DIRECTORY}/callback`, {}, { stopAt: RP_REDIRECT });
      await expectRefused(agent, page);
    }
    const { agent } = await start();
    await expectRefused(agent, await agent.get(`${a.issuer}/upstream/${DIRECTORY}/callback?SAMLResponse=x`, { stopAt: RP_REDIRECT }));
  });

  it('hands a refusal by the identity provider (a status) to the service as access_denied', async () => {
    const { agent, requestId } = await start();
    const f = fields(requestId, { status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' });
    const page = await post(agent, encode(responseXml(f, '')));
    await expectRefused(agent, page, 'cancelled');
  });

  it('health: flags a certificate expiring within 30 days, fails on expired certificates and outdated metadata', async () => {
    await a.bridge.health.checkNow();
    expect(a.bridge.health.statusOf(DIRECTORY)).toMatchObject({ status: 'up' });
    const expiring = a.bridge.health.statusOf('saml-expiring');
    expect(expiring?.status).toBe('up');
    expect(expiring?.warnings?.join(' ')).toMatch(/signing certificate .* expires on \d{4}-\d{2}-\d{2}/);
    const expired = a.bridge.health.statusOf('saml-expired');
    expect(expired?.status).toBe('down');
    expect(expired?.lastError).toMatch(/every signing certificate of the identity provider has expired/);
    const outdated = a.bridge.health.statusOf('saml-outdated');
    expect(outdated?.status).toBe('down');
    expect(outdated?.lastError).toMatch(/validUntil/);
  });

  it('a directory whose metadata is past its validUntil cannot start a login: a page, and the service gets an error', async () => {
    const { agent, atIdp } = await start(new UserAgent('en'), 'saml-outdated');
    expect(atIdp.status).toBe(502);
    const [back] = linksWithText(atIdp, 'Return to the service');
    const end = await agent.navigate(back!, { stopAt: RP_REDIRECT });
    expect(new URL(end.url).searchParams.get('error')).toBe('temporarily_unavailable');
  });

  it('logs why each response was refused (each forgery met the check meant for it)', () => {
    const reasons = (instance: BridgeHandle) =>
      instance.logs
        .filter((l) => l.msg === 'directory login failed')
        .map((l) => {
          const err = l.err as { message: string; cause?: { message: string } };
          return `${err.message}${err.cause ? `: ${err.cause.message}` : ''}`;
        });
    const seen = reasons(a).join('\n');
    for (const expected of [
      'failed validation: Invalid signature',
      'must hold exactly one assertion',
      'refused before validation: the document has comments',
      'failed validation: SAML assertion audience mismatch',
      'not addressed to this directory (Destination)',
      'no bearer confirmation for this request and this directory (Recipient, InResponseTo)',
      'from another identity provider (Issuer)',
      // Expired: its bearer confirmation is past NotOnOrAfter, which the library checks first.
      'failed validation: No valid subject confirmation found',
      'failed validation: SAML assertion not yet valid',
      'failed validation: InResponseTo is missing from response',
      'failed validation: InResponseTo is not valid',
      'refused before validation: the document has a document type declaration',
      'did not authenticate the user: status urn:oasis:names:tc:SAML:2.0:status:Responder',
    ]) {
      expect(seen).toContain(expected);
    }
    expect(reasons(b)).toEqual(['the assertion was already used (replay)']);
  });

  it('keeps assertions, names and keys out of the logs', () => {
    for (const instance of [a, b]) {
      const logs = instance.logText();
      expect(logs).not.toContain('Aino');
      expect(logs).not.toContain('Mallory');
      expect(logs).not.toContain('victim');
      expect(logs).not.toContain('1.2.246.562.24.10000000001');
      expect(logs).not.toContain('PRIVATE KEY');
      expect(logs).not.toMatch(/<saml:|<samlp:/);
      expect(logs).not.toContain('"statusCode":500');
    }
  });
});
