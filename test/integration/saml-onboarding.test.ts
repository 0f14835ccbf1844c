import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadTestUsers } from '../../src/testdirectory/users.js';
import type { BridgeHandle } from '../support/bridge.js';
import { startTwoInstances, type TwoInstances } from '../support/instances.js';
import { RP_REDIRECT } from '../support/federation.js';
import { startSimpleSamlPhp, type SimpleSamlPhpHandle } from '../support/simplesamlphp.js';
import { extractForms, UserAgent, type Page } from '../support/user-agent.js';

const DIRECTORY_ID = 'city-adfs';
const USERS = loadTestUsers(resolve('config/test-users.json'));

/**
 * Onboarding a SAML directory: an operator adds it through the CLI on instance A (no secret: the
 * identity provider signs with its own key), `directory show` prints what the education provider
 * configures (our SP metadata URL), and instance B, running since before the directory existed,
 * serves its SP metadata and signs users in through it (SimpleSAMLphp), and runs the attribute check.
 */
describe('SAML directory onboarding through the CLI, used on another instance without a restart', () => {
  let instances: TwoInstances;
  let ssp: SimpleSamlPhpHandle;
  let a: BridgeHandle;
  let b: BridgeHandle;
  const workDir = mkdtempSync(join(tmpdir(), 'mpassid-saml-onboarding-'));

  beforeAll(async () => {
    instances = await startTwoInstances(async ({ ports, secrets }) => {
      // Each instance has its own issuer here, so each is a service provider of its own at the IdP.
      ssp = await startSimpleSamlPhp({
        users: USERS,
        serviceProviders: Object.values(ports).map((port) => ({
          entityId: `http://127.0.0.1:${port}/upstream/${DIRECTORY_ID}/saml/metadata`,
          acsUrl: `http://127.0.0.1:${port}/upstream/${DIRECTORY_ID}/callback`,
          signingCert: secrets.saml.signing[0]!.cert,
          encryptionCert: secrets.saml.encryption[0]!.cert,
          encryptAssertion: true,
        })),
      });
      return { environment: 'test' };
    });
    ({ a, b } = instances);
  }, 60_000);

  afterAll(async () => {
    await instances?.stop();
    await ssp?.stop();
  });

  const cli = (args: string[], stdin?: string) => instances.cli(args, stdin);

  /** SimpleSAMLphp's login form, then its page posting the response to the bridge. */
  async function throughIdp(agent: UserAgent, atIdp: Page, username: string): Promise<Page> {
    expect(atIdp.url.startsWith(ssp.baseUrl)).toBe(true);
    const form = extractForms(atIdp).find((f) => 'password' in f.fields)!;
    const posting = await agent.postForm(form.action, { ...form.fields, username, password: `${username}pwd` }, { stopAt: RP_REDIRECT });
    const post = extractForms(posting).find((f) => 'SAMLResponse' in f.fields);
    if (!post) throw new Error(`no SAML response from SimpleSAMLphp: ${posting.body.slice(0, 500)}\n${ssp.logs().slice(-1500)}`);
    return agent.postForm(post.action, post.fields, { stopAt: RP_REDIRECT });
  }

  it('adds the directory (refusing a client secret), prints our SP metadata URL, and instance B signs users in through it', async () => {
    const definition = {
      type: 'saml',
      id: DIRECTORY_ID,
      displayName: { fi: 'Kaupungin AD FS', en: 'City AD FS' },
      metadataUrl: ssp.metadataUrl,
      uniqueIdAttribute: 'mpassUserIdentity',
      requireEncryptedAssertions: true,
      accounts: 'test',
    };
    const file = join(workDir, 'saml.json');
    writeFileSync(file, JSON.stringify(definition));

    const withSecret = await cli(['directory', 'add', '--file', file, '--client-secret-stdin'], 'not-for-saml-0123456789\n');
    expect(withSecret.code).not.toBe(0);
    expect(withSecret.stderr).toContain('has no client secret');

    const invalid = join(workDir, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ ...definition, metadataUrl: undefined }));
    const refused = await cli(['directory', 'add', '--file', invalid]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('metadataUrl or metadata: required');

    const added = await cli(['directory', 'add', '--file', file]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`${DIRECTORY_ID}: added as draft`);

    const shown = await cli(['directory', 'show', DIRECTORY_ID]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`spMetadataUrl: ${a.issuer}/upstream/${DIRECTORY_ID}/saml/metadata`);
    expect(shown.stdout).toContain(`entityId: ${a.issuer}/upstream/${DIRECTORY_ID}/saml/metadata`);
    expect(shown.stdout).toContain(`acsUrl: ${a.issuer}/upstream/${DIRECTORY_ID}/callback`);

    // B never restarted: it publishes the new directory's SP metadata under its own address.
    const metadata = await fetch(`${b.issuer}/upstream/${DIRECTORY_ID}/saml/metadata`);
    expect(metadata.status).toBe(200);
    expect(await metadata.text()).toContain(`entityID="${b.issuer}/upstream/${DIRECTORY_ID}/saml/metadata"`);

    expect((await cli(['directory', 'start-testing', DIRECTORY_ID])).code).toBe(0);

    const rp = await instances.service(b);
    const agent = new UserAgent('en');
    const request = await rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${DIRECTORY_ID}` });
    const atIdp = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
    const done = await throughIdp(agent, atIdp, 'pupil-complete');
    expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
    expect((await rp.redeem(done.url, request)).claims()).toMatchObject({ given_name: 'Aino', family_name: 'Mansikka' });
  });

  it('runs the attribute check page for the SAML directory on instance B', async () => {
    const { agent, atDirectory: atIdp } = await instances.openCheckAtB(DIRECTORY_ID);
    const result = await throughIdp(agent, atIdp, 'pupil-complete');
    expect(result.status).toBe(200);
    expect(result.body).toMatch(/id="outcome"[^>]*data-outcome="released"/);
    expect(result.body).toMatch(/data-attribute="learnerId" data-status="present"/);
  });

  it('reports the identity provider metadata reachable through the CLI health command', async () => {
    const health = await cli(['directory', 'health']);
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(new RegExp(`^up +${DIRECTORY_ID} `, 'm'));
  });
});
