import { DOMParser } from '@xmldom/xmldom';

/**
 * Safe reading of the XML directories send (metadata, responses). SAML never needs a document type
 * declaration, entities or processing instructions, and comments inside signed content are how
 * NameID truncation attacks work: such documents are refused before any parser sees them.
 */

export class UnsafeXmlError extends Error {
  override readonly name = 'UnsafeXmlError';
}

/** Refuses a DTD (entity expansion, external entities) anywhere in the text, whatever the case. */
function refuseDtd(xml: string): void {
  if (/<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST/i.test(xml)) throw new UnsafeXmlError('the document has a document type declaration');
}

/** Refuses what a SAML response never legitimately holds: a DTD, comments, CDATA, processing instructions. */
export function refuseUnexpectedMarkup(xml: string): void {
  refuseDtd(xml);
  if (xml.includes('<!--')) throw new UnsafeXmlError('the document has comments');
  if (xml.includes('<![CDATA[')) throw new UnsafeXmlError('the document has CDATA sections');
  // Only the XML declaration itself may appear, at the very start.
  if (/<\?(?!xml[\s?])/i.test(xml) || /[\s\S]<\?xml[\s?]/i.test(xml.trimStart())) {
    throw new UnsafeXmlError('the document has processing instructions');
  }
}

/** Parses XML that has already been checked; any parser warning or error refuses it. */
export function parseXml(xml: string): Document {
  refuseDtd(xml);
  // xmldom reports a thrown handler error again as its own: keep the first reason, say it once.
  let first: string | undefined;
  const fail = (message: string): never => {
    first ??= message
      .replace(/^\[xmldom [a-z]+\]\s*/i, '')
      .split('\n')[0]!
      .slice(0, 200);
    throw new UnsafeXmlError(first);
  };
  let doc: Document | undefined;
  try {
    doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml') as unknown as Document;
  } catch {
    // The reason is in `first`.
  }
  if (first !== undefined || !doc?.documentElement) throw new UnsafeXmlError(`not well-formed XML (${first ?? 'no document element'})`);
  return doc;
}

/** Child elements of `parent` with this namespace and local name (direct children only). */
export function childElements(parent: Element | Document, namespace: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).namespaceURI === namespace && (node as Element).localName === localName) out.push(node as Element);
  }
  return out;
}

/** The one child element of that name, or undefined; more than one is refused (ambiguous). */
export function onlyChild(parent: Element, namespace: string, localName: string): Element | undefined {
  const found = childElements(parent, namespace, localName);
  if (found.length > 1) throw new UnsafeXmlError(`more than one ${localName}`);
  return found[0];
}

/** The text content of an element (all its text nodes). */
export function textOf(element: Element | undefined): string | undefined {
  if (!element) return undefined;
  let text = '';
  for (let node = element.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 3 || node.nodeType === 4) text += node.nodeValue ?? '';
  }
  return text;
}

export const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
} as const;
