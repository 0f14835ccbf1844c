import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { SAML, ValidateInResponseTo, type CacheProvider, type Profile, type SamlConfig } from '@node-saml/node-saml';
import { HealthCheckFailed } from '../health-check.js';
import type { ConnectorOptions } from '../options.js';
import { DirectoryError } from '../../errors.js';
import type { BeginRequest, BeginResult, CallbackRequest, DirectoryConnector, DirectoryIdentity, HealthReport, DirectoryTransaction } from '../types.js';
import type { SamlKeys } from '../../../config/saml-keys.js';
import { IdpMetadataSource } from './metadata-source.js';
import { spEntityIdOf, spMetadataXml } from './sp-metadata.js';
import { childElements, NS, onlyChild, parseXml, refuseUnexpectedMarkup, textOf, UnsafeXmlError } from './xml.js';

/** The settings this connector reads (a directory definition of type saml). */
export interface SamlDirectorySettings {
  id: string;
  metadataUrl?: string | undefined;
  metadata?: string | undefined;
  idpEntityId?: string | undefined;
  signAuthnRequests: boolean;
  requireEncryptedAssertions: boolean;
  nameIdFormat?: string | undefined;
  uniqueIdAttribute?: string | undefined;
  metadataRefreshSeconds: number;
}

/** What the connector keeps between the redirect and the callback: the AuthnRequest's ID. */
interface SamlState {
  requestId: string;
}

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
/** A request id the bridge made: `_` and 40 hex digits. */
const REQUEST_ID = /^_[0-9a-f]{40}$/;
/** Certificates expiring within this many days are flagged by the health check. */
const EXPIRY_WARNING_DAYS = 30;
/** An assertion id is remembered at least this long, and at most this long (bounded memory). */
const REPLAY_MIN_SECONDS = 300;
const REPLAY_MAX_SECONDS = 24 * 3600;

/**
 * A callback's InResponseTo is accepted only when it is this browser's own AuthnRequest: the
 * library's request-id cache is replaced by one that knows exactly that one id, so a response made
 * for another browser's request (or one nobody asked for) is refused.
 */
function transactionCache(requestId: string, startedAt: number): CacheProvider {
  return {
    saveAsync: async (_key, value) => ({ value, createdAt: Date.now() }),
    getAsync: async (key) => (key === requestId ? new Date(startedAt * 1000).toISOString() : null),
    removeAsync: async (key) => key,
  };
}

/** A reason fit for the logs: the library's words, without any value a response carried. */
function logSafe(err: unknown): Error {
  if (err instanceof Error && err.name === 'SamlStatusError') {
    return new Error(`the identity provider answered with a status: ${err.message.replace(/ error: [\s\S]*$/, '').slice(0, 120)}`);
  }
  const message =
    err instanceof Error
      ? err.message
          .split('\n')[0]!
          .replace(/Received: [\s\S]*$/, 'Received another')
          .slice(0, 200)
      : 'unexpected failure';
  return new Error(message);
}

function invalid(message: string, cause?: unknown): DirectoryError {
  return new DirectoryError('directory_invalid_response', message, cause === undefined ? undefined : { cause: logSafe(cause) });
}

/**
 * A SAML 2.0 identity provider. The bridge is its service provider: a signed AuthnRequest over
 * HTTP-Redirect (ForceAuthn for a fresh login), the response posted to the directory's callback.
 * Signatures, decryption, time and audience checks are @node-saml/node-saml's (with signed
 * assertions required); the bridge adds what the library leaves out: the issuer, Destination and
 * Recipient, InResponseTo bound to this browser's transaction, refusing DTDs and comments before
 * any parsing, and assertion ids remembered across instances.
 */
export class SamlConnector implements DirectoryConnector {
  readonly id: string;
  readonly callbackMethod = 'POST' as const;
  readonly entityId: string;
  readonly acsUrl: string;
  private readonly metadata: IdpMetadataSource;

  constructor(
    private readonly config: SamlDirectorySettings,
    private readonly keys: SamlKeys,
    private readonly options: ConnectorOptions,
  ) {
    this.id = config.id;
    this.entityId = spEntityIdOf(options.issuer, config.id);
    this.acsUrl = `${options.issuer.replace(/\/+$/, '')}/upstream/${config.id}/callback`;
    this.metadata = new IdpMetadataSource(config, options);
  }

  /** The SP metadata the identity provider is configured from (served at the entity id). */
  spMetadata(): string {
    return spMetadataXml({
      entityId: this.entityId,
      acsUrl: this.acsUrl,
      signingCerts: this.keys.signing.map((k) => k.cert),
      encryptionCerts: this.keys.encryption.map((k) => k.cert),
      signAuthnRequests: this.config.signAuthnRequests,
      ...(this.config.nameIdFormat ? { nameIdFormat: this.config.nameIdFormat } : {}),
    });
  }

  private samlFor(idp: { ssoRedirectUrl: string; signingCerts: string[] }, extra: Partial<SamlConfig>): SAML {
    return new SAML({
      issuer: this.entityId,
      callbackUrl: this.acsUrl,
      entryPoint: idp.ssoRedirectUrl,
      idpCert: idp.signingCerts,
      audience: this.entityId,
      wantAssertionsSigned: true,
      // The assertion's own signature is what counts; AD FS, Entra and SimpleSAMLphp sign only it by default.
      wantAuthnResponseSigned: false,
      validateInResponseTo: ValidateInResponseTo.always,
      acceptedClockSkewMs: this.options.clockToleranceSeconds * 1000,
      identifierFormat: this.config.nameIdFormat ?? null,
      // AD FS and Entra choose the authentication method themselves (Kerberos on school devices).
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      ...extra,
    });
  }

  async begin(request: BeginRequest): Promise<BeginResult> {
    const idp = await this.metadata.get();
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const saml = this.samlFor(idp, {
      generateUniqueId: () => requestId,
      forceAuthn: request.forceLogin || request.maxAge !== undefined,
      cacheProvider: transactionCache(requestId, Math.floor(Date.now() / 1000)),
      ...(this.config.signAuthnRequests ? { privateKey: this.keys.signing[0]!.key } : {}),
    });
    let url: string;
    try {
      url = await saml.getAuthorizeUrlAsync('', undefined, {});
    } catch (err) {
      throw new DirectoryError('directory_unavailable', 'the AuthnRequest could not be made', { cause: logSafe(err) });
    }
    return { redirect: new URL(url), state: { requestId } satisfies SamlState };
  }

  async complete(callback: CallbackRequest, transaction: DirectoryTransaction): Promise<DirectoryIdentity> {
    if (transaction.directoryId !== this.id) {
      throw new DirectoryError('directory_transaction_invalid', 'callback reached another directory than the one started');
    }
    const { requestId } = transaction.state as unknown as SamlState;
    if (typeof requestId !== 'string' || !REQUEST_ID.test(requestId))
      throw new DirectoryError('directory_transaction_invalid', 'the transaction has no AuthnRequest');
    if (callback.method !== 'POST') throw invalid('a SAML response comes as a form post (HTTP-POST binding)');
    const encoded = callback.form.SAMLResponse;
    if (!encoded || !/^[A-Za-z0-9+/=\s]+$/.test(encoded)) throw invalid('no SAMLResponse in the form');
    const xml = Buffer.from(encoded, 'base64').toString('utf8');

    // Before any parser or the library sees the document.
    let response: Element;
    try {
      refuseUnexpectedMarkup(xml);
      response = parseXml(xml).documentElement;
    } catch (err) {
      throw invalid('the SAML response is refused before validation', err);
    }
    const idp = await this.metadata.get();
    this.checkEnvelope(response, idp.entityId);

    const profile = await this.validate(encoded, idp, requestId, transaction.startedAt);
    const assertion = this.checkAssertion(profile, idp.entityId, requestId);
    await this.refuseReplay(idp.entityId, assertion.id, assertion.expiresAt);

    const now = Math.floor(Date.now() / 1000);
    const authTime =
      assertion.authnInstant !== undefined && assertion.authnInstant <= now + this.options.clockToleranceSeconds ? Math.min(assertion.authnInstant, now) : now;
    if (transaction.forceLogin && authTime + this.options.clockToleranceSeconds < transaction.startedAt) {
      throw invalid('the identity provider did not re-authenticate the user as asked');
    }
    const attributes = { ...((profile.attributes as Record<string, unknown> | undefined) ?? {}) };
    return { directoryId: this.id, issuer: idp.entityId, subject: this.subjectOf(profile, attributes), authTime, attributes };
  }

  /** What the library does not check on the Response around the assertion. */
  private checkEnvelope(response: Element, idpEntityId: string): void {
    if (response.namespaceURI !== NS.samlp || response.localName !== 'Response') throw invalid('the SAML message is not a Response');
    // A refusal (the user cancelled, no access) carries no assertion; it ends the login either way,
    // so it needs no signature to be believed.
    try {
      const status = onlyChild(response, NS.samlp, 'Status');
      const code = status ? onlyChild(status, NS.samlp, 'StatusCode')?.getAttribute('Value') : undefined;
      if (code !== 'urn:oasis:names:tc:SAML:2.0:status:Success') {
        throw new DirectoryError('directory_denied', 'the identity provider did not authenticate the user', {
          cause: new Error(`status ${String(code).slice(0, 100)}`),
        });
      }
    } catch (err) {
      if (err instanceof DirectoryError) throw err;
      throw invalid('the SAML response status is ambiguous', err);
    }
    const destination = response.getAttribute('Destination');
    if (destination !== this.acsUrl) throw invalid('the SAML response is not addressed to this directory (Destination)');
    let issuer: Element | undefined;
    try {
      issuer = onlyChild(response, NS.saml, 'Issuer');
    } catch (err) {
      throw invalid('the SAML response is ambiguous', err);
    }
    if (issuer && textOf(issuer)?.trim() !== idpEntityId) throw invalid('the SAML response comes from another identity provider (Issuer)');
    const plain = childElements(response, NS.saml, 'Assertion').length;
    const encrypted = childElements(response, NS.saml, 'EncryptedAssertion').length;
    if (plain + encrypted !== 1) throw invalid('the SAML response must hold exactly one assertion');
    if (this.config.requireEncryptedAssertions && encrypted !== 1) throw invalid('the assertion is not encrypted, and this directory requires it');
  }

  /** The library's validation, with each of our decryption keys in turn (rollover). */
  private async validate(encoded: string, idp: { ssoRedirectUrl: string; signingCerts: string[] }, requestId: string, startedAt: number): Promise<Profile> {
    let firstError: unknown;
    for (const key of this.keys.encryption) {
      const saml = this.samlFor(idp, { decryptionPvk: key.key, cacheProvider: transactionCache(requestId, startedAt) });
      try {
        const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: encoded });
        if (!profile) throw new Error('no assertion (a logout or passive response)');
        return profile;
      } catch (err) {
        firstError ??= err;
        // Only a failed decryption is worth another key; every other failure is final.
        if (!/decrypt|EncryptedAssertion|EncryptedKey|cipher/i.test(err instanceof Error ? err.message : '')) break;
      }
    }
    if (firstError instanceof Error && firstError.name === 'SamlStatusError') {
      throw new DirectoryError('directory_denied', 'the identity provider did not authenticate the user', { cause: logSafe(firstError) });
    }
    throw invalid('the SAML response failed validation', firstError);
  }

  /** Reads the verified assertion (what the signature covers) for what the library leaves unchecked. */
  private checkAssertion(profile: Profile, idpEntityId: string, requestId: string): { id: string; expiresAt: number; authnInstant?: number } {
    let assertion: Element;
    try {
      assertion = parseXml(profile.getAssertionXml?.() ?? '').documentElement;
    } catch (err) {
      throw invalid('the verified assertion cannot be read', err);
    }
    if (assertion.namespaceURI !== NS.saml || assertion.localName !== 'Assertion') throw invalid('the verified element is not an assertion');
    try {
      const issuer = textOf(onlyChild(assertion, NS.saml, 'Issuer'))?.trim();
      if (issuer !== idpEntityId) throw invalid('the assertion comes from another identity provider (Issuer)');
      const id = assertion.getAttribute('ID') ?? '';
      if (!id) throw invalid('the assertion has no ID');

      const subject = onlyChild(assertion, NS.saml, 'Subject');
      const confirmations = subject ? childElements(subject, NS.saml, 'SubjectConfirmation') : [];
      const now = Date.now();
      const skew = this.options.clockToleranceSeconds * 1000;
      const bearer = confirmations.find((confirmation) => {
        if (confirmation.getAttribute('Method') !== BEARER) return false;
        const data = onlyChild(confirmation, NS.saml, 'SubjectConfirmationData');
        if (!data || data.getAttribute('Recipient') !== this.acsUrl || data.getAttribute('InResponseTo') !== requestId) return false;
        const notOnOrAfter = Date.parse(data.getAttribute('NotOnOrAfter') ?? '');
        return Number.isFinite(notOnOrAfter) && now - skew < notOnOrAfter;
      });
      if (!bearer) throw invalid('the assertion has no bearer confirmation for this request and this directory (Recipient, InResponseTo)');

      const conditions = onlyChild(assertion, NS.saml, 'Conditions');
      const until = [conditions?.getAttribute('NotOnOrAfter'), onlyChild(bearer, NS.saml, 'SubjectConfirmationData')?.getAttribute('NotOnOrAfter')]
        .map((v) => Date.parse(v ?? ''))
        .filter((v) => Number.isFinite(v));
      const expiresAt = Math.floor(Math.max(...until) / 1000);

      const statements = childElements(assertion, NS.saml, 'AuthnStatement');
      const instant = Date.parse(statements[0]?.getAttribute('AuthnInstant') ?? '');
      return { id, expiresAt, ...(Number.isFinite(instant) ? { authnInstant: Math.floor(instant / 1000) } : {}) };
    } catch (err) {
      if (err instanceof DirectoryError) throw err;
      throw invalid('the assertion is ambiguous', err instanceof UnsafeXmlError ? err : undefined);
    }
  }

  /** An assertion is accepted once, by any instance: its id is remembered until it expires. */
  private async refuseReplay(idpEntityId: string, assertionId: string, expiresAt: number): Promise<void> {
    const key = `saml:${this.id}:${createHash('sha256').update(`${idpEntityId}\0${assertionId}`).digest('base64url')}`;
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.min(REPLAY_MAX_SECONDS, Math.max(REPLAY_MIN_SECONDS, expiresAt - now + this.options.clockToleranceSeconds));
    // Set only if absent (SET NX): of two instances racing with the same assertion, one wins.
    if (!(await this.options.replay.add(key, 1, ttl))) throw invalid('the assertion was already used (replay)');
  }

  /** The directory's unique id of the user: the NameID, or the attribute configured for it. */
  private subjectOf(profile: Profile, attributes: Record<string, unknown>): string {
    const name = this.config.uniqueIdAttribute;
    if (name) {
      const value = attributes[name];
      const single = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
      if (typeof single !== 'string' || single.trim() === '') throw invalid(`the assertion has no single value of ${name}, the unique id`);
      return single.trim();
    }
    if (!profile.nameID) throw invalid('the assertion has no NameID');
    if (profile.nameIDFormat === TRANSIENT) throw invalid('a transient NameID is not a lasting user id: set uniqueIdAttribute');
    return profile.nameID;
  }

  async checkHealth(timeoutMs: number): Promise<HealthReport> {
    let idp: Awaited<ReturnType<typeof this.metadata.refresh>>;
    try {
      idp = await this.metadata.refresh(timeoutMs);
    } catch (err) {
      throw new HealthCheckFailed(err instanceof Error ? err.message : 'the metadata cannot be read');
    }
    const warnings: string[] = [];
    const now = Date.now();
    const soon = now + EXPIRY_WARNING_DAYS * 86_400_000;
    let usable = 0;
    for (const pem of idp.signingCerts) {
      const cert = new X509Certificate(pem);
      const until = Date.parse(cert.validTo);
      const name = `signing certificate ${cert.fingerprint256.slice(0, 23)}`;
      if (until <= now) warnings.push(`the identity provider's ${name} expired on ${new Date(until).toISOString().slice(0, 10)}`);
      else {
        usable += 1;
        if (until <= soon) warnings.push(`the identity provider's ${name} expires on ${new Date(until).toISOString().slice(0, 10)}`);
      }
    }
    if (usable === 0) throw new HealthCheckFailed(`every signing certificate of the identity provider has expired (${warnings.join('; ')})`);
    for (const [use, pairs] of [
      ['signing', this.keys.signing],
      ['encryption', this.keys.encryption],
    ] as const) {
      const until = Date.parse(new X509Certificate(pairs[0]!.cert).validTo);
      if (until <= soon) warnings.push(`the bridge's own SAML ${use} certificate expires on ${new Date(until).toISOString().slice(0, 10)}: roll it over`);
    }
    if (idp.validUntil !== undefined && idp.validUntil <= soon) {
      warnings.push(`the identity provider's metadata is valid until ${new Date(idp.validUntil).toISOString()}`);
    }
    return { warnings };
  }
}
