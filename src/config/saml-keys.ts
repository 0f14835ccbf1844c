import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * The bridge's own SAML service-provider keys: one list for signing AuthnRequests, one for
 * decrypting assertions. Each list is newest first: the first signs, every one is published in the
 * SP metadata and tried for decryption, so keys roll over without a flag day (publish the new key
 * second, wait until every directory has re-read our metadata, then put it first).
 */

/** A private key and its certificate, both PEM. */
const samlKeyPairSchema = z.object({ key: z.string().min(1), cert: z.string().min(1) }).strict();
export type SamlKeyPair = z.infer<typeof samlKeyPairSchema>;

export const samlKeysSchema = z.object({ signing: z.array(samlKeyPairSchema).min(1), encryption: z.array(samlKeyPairSchema).min(1) }).strict();
export type SamlKeys = z.infer<typeof samlKeysSchema>;

/** How long a generated development certificate is valid (directories only check it is the published one). */
const GENERATED_VALIDITY_DAYS = 3650;

/** A new RSA key pair with a self-signed certificate (development and tests; production gives files). */
export async function generateSamlKeyPair(commonName: string, validityDays = GENERATED_VALIDITY_DAYS, notBefore = new Date()): Promise<SamlKeyPair> {
  // Loaded only here: configuration parsing (and the CLI) never needs the certificate builder.
  const x509 = await import('@peculiar/x509');
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomBytes(8)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      name: `CN=${commonName}`,
      notBefore,
      notAfter: new Date(notBefore.getTime() + validityDays * 86_400_000),
      signingAlgorithm: algorithm,
      keys,
      extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true)],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  return { key, cert: cert.toString('pem') };
}

/** Fresh SP keys of a development deployment or a test. */
export async function generateSamlKeys(): Promise<SamlKeys> {
  const [signing, encryption] = await Promise.all([generateSamlKeyPair('MPASSid Bridge SAML signing'), generateSamlKeyPair('MPASSid Bridge SAML encryption')]);
  return { signing: [signing], encryption: [encryption] };
}

/** A key pair given as files (production): both are read and checked to belong together. */
export function readSamlKeyPair(files: { keyFile: string; certFile: string }, label: string, cwd = process.cwd()): SamlKeyPair {
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(resolve(cwd, path), 'utf8');
    } catch (err) {
      throw new Error(`${label}.${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const pair = { key: read(files.keyFile, 'keyFile'), cert: read(files.certFile, 'certFile') };
  const problem = samlKeyPairProblem(pair);
  if (problem) throw new Error(`${label}: ${problem}`);
  return pair;
}

/** Why a key pair cannot be used (unreadable PEM, or a certificate of another key); undefined when it can. */
export function samlKeyPairProblem(pair: SamlKeyPair): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch {
    return 'the certificate is not a PEM X.509 certificate';
  }
  try {
    const key = createPrivateKey(pair.key);
    if (key.asymmetricKeyType !== 'rsa') return 'the key must be an RSA key';
    if (!cert.checkPrivateKey(key)) return 'the certificate is not of this private key';
  } catch {
    return 'the key is not a PEM private key';
  }
  return undefined;
}

/** The base64 body of a PEM certificate (what SAML metadata carries in X509Certificate). */
export function certificateBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** A PEM certificate from the base64 body SAML metadata carries. */
export function certificatePem(body: string): string {
  const clean = body.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${clean.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
