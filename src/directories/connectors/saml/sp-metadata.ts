import { certificateBody } from '../../../config/saml-keys.js';

/** The bridge's SP entity id for one directory: the URL its metadata is served at (a stable URL). */
export function spEntityIdOf(bridgeIssuer: string, directoryId: string): string {
  return `${bridgeIssuer.replace(/\/+$/, '')}/upstream/${directoryId}/saml/metadata`;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** The data encryption and key transport algorithms the bridge decrypts (xml-encryption's). */
const ENCRYPTION_METHODS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
];

/**
 * The SP metadata of one directory: what AD FS, Entra ID, Google Workspace or SimpleSAMLphp are
 * configured from. Every signing and encryption certificate is listed (rollover: the identity
 * provider accepts requests signed with any, and encrypts to one it knows). Not signed: it is
 * served over https from the bridge's own address.
 */
export function spMetadataXml(sp: {
  entityId: string;
  acsUrl: string;
  signingCerts: string[];
  encryptionCerts: string[];
  signAuthnRequests: boolean;
  nameIdFormat?: string;
}): string {
  const keyDescriptor = (use: 'signing' | 'encryption', pem: string): string =>
    [
      `    <md:KeyDescriptor use="${use}">`,
      '      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>',
      `${certificateBody(pem)}`,
      '      </ds:X509Certificate></ds:X509Data></ds:KeyInfo>',
      ...(use === 'encryption' ? ENCRYPTION_METHODS.map((algorithm) => `      <md:EncryptionMethod Algorithm="${algorithm}"/>`) : []),
      '    </md:KeyDescriptor>',
    ].join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXml(sp.entityId)}">`,
    `  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="${sp.signAuthnRequests}" WantAssertionsSigned="true">`,
    ...sp.signingCerts.map((pem) => keyDescriptor('signing', pem)),
    ...sp.encryptionCerts.map((pem) => keyDescriptor('encryption', pem)),
    ...(sp.nameIdFormat ? [`    <md:NameIDFormat>${escapeXml(sp.nameIdFormat)}</md:NameIDFormat>`] : []),
    `    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXml(sp.acsUrl)}" index="0" isDefault="true"/>`,
    '  </md:SPSSODescriptor>',
    '</md:EntityDescriptor>',
    '',
  ].join('\n');
}
