import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigError, parseConfig } from '../../src/config/load.js';
import { readSamlKeyPair, samlKeyPairProblem } from '../../src/config/saml-keys.js';
import { parseIdpMetadata } from '../../src/directories/connectors/saml/metadata.js';
import { spMetadataXml } from '../../src/directories/connectors/saml/sp-metadata.js';
import { parseXml, refuseUnexpectedMarkup } from '../../src/directories/connectors/saml/xml.js';
import { directoryDefinitionSchema, endpointOf } from '../../src/directories/definition.js';
import { setupOf } from '../../src/directories/connectors/index.js';
import { samlKeyPairs } from '../support/keys.js';
import { forgeIdpMetadata } from '../support/saml-forge.js';

/** Some valid key pairs (pre-generated: these tests read and compare them, they do not make them). */
const keyPair = samlKeyPairs.idp();
const otherKeyPair = samlKeyPairs.otherIdp();

describe('SAML metadata', () => {
  it('reads the entity id, the HTTP-Redirect sign-on URL and every signing certificate', async () => {
    const [a, b] = [keyPair, otherKeyPair];
    const metadata = parseIdpMetadata(forgeIdpMetadata('https://idp.example/saml', [a.cert, b.cert]));
    expect(metadata.entityId).toBe('https://idp.example/saml');
    expect(metadata.ssoRedirectUrl).toBe('http://127.0.0.1:9/saml/sso');
    expect(metadata.signingCerts).toHaveLength(2);
    expect(metadata.validUntil).toBeUndefined();
  });

  it('chooses among several identity providers only with idpEntityId, and takes the earliest validUntil', async () => {
    const { cert } = keyPair;
    const one = (id: string) => forgeIdpMetadata(id, [cert]).replace(/^<md:EntityDescriptor xmlns:md="[^"]+" xmlns:ds="[^"]+"/, '<md:EntityDescriptor');
    const aggregate = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" validUntil="2999-01-01T00:00:00Z">${one('https://a.example')}${one('https://b.example')}</md:EntitiesDescriptor>`;
    expect(() => parseIdpMetadata(aggregate)).toThrow('several identity providers: set idpEntityId');
    const chosen = parseIdpMetadata(aggregate, 'https://b.example');
    expect(chosen.entityId).toBe('https://b.example');
    expect(chosen.validUntil).toBe(Date.parse('2999-01-01T00:00:00Z'));
    expect(() => parseIdpMetadata(aggregate, 'https://c.example')).toThrow('no identity provider https://c.example');
  });

  it('refuses a DTD, metadata without signing certificates or without an HTTP-Redirect sign-on service', async () => {
    const { cert } = keyPair;
    const good = forgeIdpMetadata('https://idp.example/saml', [cert]);
    expect(() => parseIdpMetadata(`<!DOCTYPE x [<!ENTITY e "x">]>${good}`)).toThrow('document type declaration');
    expect(() => parseIdpMetadata(good.replace(/<md:KeyDescriptor[\s\S]*?<\/md:KeyDescriptor>/, ''))).toThrow('no signing certificate');
    expect(() => parseIdpMetadata(good.replace('HTTP-Redirect', 'HTTP-POST'))).toThrow('HTTP-Redirect');
    expect(() => parseIdpMetadata('<not xml')).toThrow('the metadata is refused: not well-formed XML (');
  });
});

describe('SAML XML safety', () => {
  it('refuses DTDs, comments, CDATA and processing instructions; accepts the XML declaration', () => {
    expect(() => refuseUnexpectedMarkup('<?xml version="1.0" encoding="UTF-8"?><a/>')).not.toThrow();
    expect(() => refuseUnexpectedMarkup('<!DOCTYPE a><a/>')).toThrow('document type');
    expect(() => refuseUnexpectedMarkup('<a>x<!---->y</a>')).toThrow('comments');
    expect(() => refuseUnexpectedMarkup('<a><![CDATA[x]]></a>')).toThrow('CDATA');
    expect(() => refuseUnexpectedMarkup('<a><?php x ?></a>')).toThrow('processing instructions');
    expect(() => refuseUnexpectedMarkup('<a/><?xml version="1.0"?>')).toThrow('processing instructions');
    expect(() => parseXml('<a><b></a>')).toThrow('not well-formed');
  });
});

describe('SAML settings and keys', () => {
  const base = { type: 'saml', id: 'city-adfs', displayName: { fi: 'AD FS' } };

  it('needs exactly one of metadataUrl and metadata; defaults signed requests; setup names our SP metadata', () => {
    expect(directoryDefinitionSchema.safeParse(base).success).toBe(false);
    expect(directoryDefinitionSchema.safeParse({ ...base, metadataUrl: 'https://idp.example/md', metadata: '<x/>' }).success).toBe(false);
    const parsed = directoryDefinitionSchema.parse({ ...base, metadataUrl: 'https://idp.example/md' });
    expect(parsed).toMatchObject({ signAuthnRequests: true, requireEncryptedAssertions: false, metadataRefreshSeconds: 3600 });
    expect(endpointOf(parsed)).toBe('https://idp.example/md');
    expect(setupOf(parsed, 'https://mpassid.example/')).toEqual({
      spMetadataUrl: 'https://mpassid.example/upstream/city-adfs/saml/metadata',
      entityId: 'https://mpassid.example/upstream/city-adfs/saml/metadata',
      acsUrl: 'https://mpassid.example/upstream/city-adfs/callback',
    });
  });

  it('names an inline-metadata directory by its entity id', async () => {
    const parsed = directoryDefinitionSchema.parse({ ...base, metadata: forgeIdpMetadata('https://idp.example/saml', [keyPair.cert]) });
    expect(endpointOf(parsed)).toBe('https://idp.example/saml');
  });

  it('reads key pairs from files and refuses a certificate of another key', async () => {
    const [a, b] = [keyPair, otherKeyPair];
    expect(samlKeyPairProblem(a)).toBeUndefined();
    expect(samlKeyPairProblem({ key: a.key, cert: b.cert })).toBe('the certificate is not of this private key');
    const dir = mkdtempSync(join(tmpdir(), 'mpassid-saml-keys-'));
    writeFileSync(join(dir, 'k.pem'), a.key);
    writeFileSync(join(dir, 'c.pem'), a.cert);
    writeFileSync(join(dir, 'other.pem'), b.cert);
    expect(readSamlKeyPair({ keyFile: 'k.pem', certFile: 'c.pem' }, 'x', dir)).toEqual(a);
    expect(() => readSamlKeyPair({ keyFile: 'k.pem', certFile: 'other.pem' }, 'secrets.samlSigningKeys.0', dir)).toThrow(
      'secrets.samlSigningKeys.0: the certificate is not of this private key',
    );
    expect(() => readSamlKeyPair({ keyFile: 'missing.pem', certFile: 'c.pem' }, 'x', dir)).toThrow('x.keyFile: cannot read missing.pem (ENOENT)');
  });

  it('publishes every SP certificate in the SP metadata', async () => {
    const [a, b] = [keyPair, otherKeyPair];
    const xml = spMetadataXml({
      entityId: 'https://b.example/md',
      acsUrl: 'https://b.example/acs',
      signingCerts: [a.cert, b.cert],
      encryptionCerts: [b.cert],
      signAuthnRequests: true,
    });
    expect(xml.match(/use="signing"/g)).toHaveLength(2);
    expect(xml.match(/use="encryption"/g)).toHaveLength(1);
    expect(() => parseXml(xml)).not.toThrow();
  });

  it('requires the SP keys in production when SAML directories can be used', () => {
    const production = {
      env: 'production',
      issuer: 'https://mpassid.example',
      redis: { url: 'redis://127.0.0.1:6379' },
      testDirectory: { enabled: false },
      attributeTestService: { enabled: false },
      organisations: { source: 'http' },
      secrets: { jwksFile: 'jwks.json', cookieKeys: ['k'.repeat(32)], subjectSalt: 's'.repeat(32) },
      upstreams: [{ ...base, metadataUrl: 'https://idp.example/md' }],
    };
    let problems: string[] = [];
    try {
      parseConfig(production);
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems.some((p) => p.startsWith('secrets.samlSigningKeys / secrets.samlEncryptionKeys'))).toBe(true);
    const keyFiles = [{ keyFile: 'k.pem', certFile: 'c.pem' }];
    expect(() => parseConfig({ ...production, secrets: { ...production.secrets, samlSigningKeys: keyFiles, samlEncryptionKeys: keyFiles } })).not.toThrow();
  });
});
