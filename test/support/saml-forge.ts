import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { certificateBody, type SamlKeyPair } from '../../src/config/saml-keys.js';

/**
 * Test SAML responses made with an identity-provider key the test controls, signed with xml-crypto
 * (never by hand): valid ones, and the classic forgeries the bridge must refuse.
 */

export const FORGE_SSO_URL = 'http://127.0.0.1:9/saml/sso';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

export const newId = (): string => `_${randomBytes(16).toString('hex')}`;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Metadata of the forging identity provider (inline metadata of the directory under test). */
export function forgeIdpMetadata(entityId: string, certs: string[], validUntil?: Date): string {
  return [
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}"${validUntil ? ` validUntil="${validUntil.toISOString()}"` : ''}>`,
    '  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="true">',
    ...certs.map(
      (cert) =>
        `    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    ),
    `    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${FORGE_SSO_URL}"/>`,
    '  </md:IDPSSODescriptor>',
    '</md:EntityDescriptor>',
  ].join('\n');
}

/** The ID of the AuthnRequest a redirect to the identity provider carries. */
export function requestIdOf(redirectUrl: string): string {
  const encoded = new URL(redirectUrl).searchParams.get('SAMLRequest');
  if (!encoded) throw new Error(`no SAMLRequest in ${redirectUrl}`);
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const id = /\sID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error('no ID in the AuthnRequest');
  return id;
}

export interface AssertionFields {
  issuer: string;
  /** InResponseTo of the response and the subject confirmation; undefined: unsolicited. */
  inResponseTo: string | undefined;
  audience: string;
  recipient: string;
  destination: string;
  assertionId?: string;
  nameId?: string;
  /** Validity window relative to now (ms). */
  notBeforeOffsetMs?: number;
  notOnOrAfterOffsetMs?: number;
  attributes?: Record<string, string[]>;
  status?: string;
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function assertionXml(f: AssertionFields): string {
  const now = Date.now();
  const notBefore = iso(now + (f.notBeforeOffsetMs ?? -60_000));
  const notOnOrAfter = iso(now + (f.notOnOrAfterOffsetMs ?? 300_000));
  const irt = f.inResponseTo ? ` InResponseTo="${f.inResponseTo}"` : '';
  const attributes = Object.entries(f.attributes ?? {})
    .map(
      ([name, values]) =>
        `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values.map((v) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`,
    )
    .join('');
  return (
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.assertionId ?? newId()}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${escapeXml(f.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${escapeXml(f.nameId ?? 'user-1')}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(f.recipient)}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${escapeXml(f.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now - 1000)}" SessionIndex="${newId()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
    '</saml:Assertion>'
  );
}

export function responseXml(f: AssertionFields, inner: string): string {
  const irt = f.inResponseTo ? ` InResponseTo="${f.inResponseTo}"` : '';
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" Version="2.0" IssueInstant="${iso(Date.now())}" Destination="${escapeXml(f.destination)}"${irt}>` +
    `<saml:Issuer>${escapeXml(f.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${f.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>` +
    inner +
    '</samlp:Response>'
  );
}

/** Signs the element that `localName` names (the first one) in `xml`, the signature after its Issuer. */
export function sign(xml: string, localName: 'Assertion' | 'Response', key: SamlKeyPair): string {
  const signer = new SignedXml({ privateKey: key.key, publicCert: key.cert, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
  const target = localName === 'Response' ? "/*[local-name(.)='Response']" : "//*[local-name(.)='Assertion']";
  signer.addReference({ xpath: target, digestAlgorithm: SHA256, transforms: [ENVELOPED, EXC_C14N] });
  signer.computeSignature(xml, { location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' } });
  return signer.getSignedXml();
}

export const encode = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64');
