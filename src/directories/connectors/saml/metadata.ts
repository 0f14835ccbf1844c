import { X509Certificate } from 'node:crypto';
import { certificatePem } from '../../../config/saml-keys.js';
import { childElements, NS, onlyChild, parseXml, textOf, UnsafeXmlError } from './xml.js';
import { readBoundedBody } from '../../../http/bounded-body.js';

/** What the bridge reads from an identity provider's SAML metadata. */
export interface IdpMetadata {
  entityId: string;
  /** Its SingleSignOnService with the HTTP-Redirect binding. */
  ssoRedirectUrl: string;
  /** Every certificate it signs with (PEM): during a rollover, several are valid at once. */
  signingCerts: string[];
  /** Epoch milliseconds after which the metadata must not be used (the earliest validUntil in it). */
  validUntil?: number;
}

export class MetadataError extends Error {
  override readonly name = 'MetadataError';
}

const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
/** Metadata of one IdP is a few kilobytes; a federation's aggregate can be large but is not for us. */
export const MAX_METADATA_BYTES = 2 * 1024 * 1024;

function validUntilOf(element: Element): number | undefined {
  const raw = element.getAttribute('validUntil');
  if (!raw) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw new MetadataError(`validUntil "${raw.slice(0, 40)}" is not a date`);
  return at;
}

function earliest(...times: Array<number | undefined>): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length ? Math.min(...known) : undefined;
}

/** EntityDescriptors with an IDPSSODescriptor, each with the validUntil of the descriptors around it. */
function identityProviders(element: Element, inherited: number | undefined, out: Array<{ entity: Element; validUntil: number | undefined }>): void {
  const own = earliest(inherited, validUntilOf(element));
  if (element.namespaceURI === NS.md && element.localName === 'EntityDescriptor') {
    if (childElements(element, NS.md, 'IDPSSODescriptor').length) out.push({ entity: element, validUntil: own });
  } else if (element.namespaceURI === NS.md && element.localName === 'EntitiesDescriptor') {
    for (let node = element.firstChild; node; node = node.nextSibling) {
      if (node.nodeType === 1) identityProviders(node as Element, own, out);
    }
  }
}

/**
 * Reads identity-provider metadata (an EntityDescriptor, or an EntitiesDescriptor holding it). With
 * several identity providers in it, `idpEntityId` says which. Throws MetadataError with a reason an
 * operator understands.
 */
export function parseIdpMetadata(xml: string, idpEntityId?: string): IdpMetadata {
  let doc: Document;
  try {
    doc = parseXml(xml);
  } catch (err) {
    throw new MetadataError(err instanceof UnsafeXmlError ? `the metadata is refused: ${err.message}` : 'the metadata is not XML');
  }
  const found: Array<{ entity: Element; validUntil: number | undefined }> = [];
  identityProviders(doc.documentElement, undefined, found);
  const candidates = idpEntityId ? found.filter((f) => f.entity.getAttribute('entityID') === idpEntityId) : found;
  if (candidates.length === 0) {
    throw new MetadataError(idpEntityId ? `the metadata has no identity provider ${idpEntityId}` : 'the metadata has no identity provider (IDPSSODescriptor)');
  }
  if (candidates.length > 1) throw new MetadataError('the metadata has several identity providers: set idpEntityId');
  const { entity, validUntil: entityValidUntil } = candidates[0]!;
  const entityId = entity.getAttribute('entityID') ?? '';
  if (!entityId) throw new MetadataError('the identity provider has no entityID');
  const descriptors = childElements(entity, NS.md, 'IDPSSODescriptor').filter((d) =>
    (d.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes('urn:oasis:names:tc:SAML:2.0:protocol'),
  );
  if (descriptors.length !== 1) throw new MetadataError('the identity provider has no single SAML 2.0 IDPSSODescriptor');
  const descriptor = descriptors[0]!;
  const validUntil = earliest(entityValidUntil, validUntilOf(descriptor));

  const sso = childElements(descriptor, NS.md, 'SingleSignOnService').find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  const ssoRedirectUrl = sso?.getAttribute('Location') ?? '';
  if (!/^https?:\/\//i.test(ssoRedirectUrl)) throw new MetadataError('the identity provider has no SingleSignOnService with the HTTP-Redirect binding');

  const signingCerts: string[] = [];
  for (const keyDescriptor of childElements(descriptor, NS.md, 'KeyDescriptor')) {
    const use = keyDescriptor.getAttribute('use');
    if (use && use !== 'signing') continue;
    let body: string | undefined;
    try {
      const keyInfo = onlyChild(keyDescriptor, NS.ds, 'KeyInfo');
      const data = keyInfo ? childElements(keyInfo, NS.ds, 'X509Data') : [];
      body = data.flatMap((d) => childElements(d, NS.ds, 'X509Certificate')).map((c) => textOf(c))[0];
    } catch {
      throw new MetadataError('a KeyDescriptor of the identity provider is ambiguous');
    }
    if (!body) continue;
    const pem = certificatePem(body);
    try {
      new X509Certificate(pem);
    } catch {
      throw new MetadataError('a signing certificate of the identity provider cannot be read');
    }
    if (!signingCerts.includes(pem)) signingCerts.push(pem);
  }
  if (signingCerts.length === 0) throw new MetadataError('the identity provider publishes no signing certificate');
  return { entityId, ssoRedirectUrl, signingCerts, ...(validUntil !== undefined ? { validUntil } : {}) };
}

/** The entity id in metadata, if it can be read (for display only). */
export function entityIdOf(xml: string, idpEntityId?: string): string | undefined {
  try {
    return parseIdpMetadata(xml, idpEntityId).entityId;
  } catch {
    return undefined;
  }
}

/** Reads a response body up to `limit` bytes; larger is refused without reading the rest. */
export async function readBounded(response: Response, limit: number): Promise<string> {
  return (await readBoundedBody(response, limit, () => new MetadataError('the metadata is too large'))).toString('utf8');
}
