import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SamlKeyPair } from '../../src/config/saml-keys.js';
import type { BridgeSecrets, PrivateJwks } from '../../src/config/secrets.js';

/**
 * Pre-generated keys for suites that need some valid keys, not new ones: RSA 2048 (RS256) and EC
 * P-256 (ES256) private JWKs and SAML key pairs with certificates valid 2020-2100, generated once
 * with the project's own generators and committed (test/fixtures/keys.json). Generating RSA keys
 * took a noticeable part of every bridge's start. Tests about generating or rotating keys generate
 * their own. Each key has one role below, so no two roles share key material.
 */
type PrivateJwk = PrivateJwks['keys'][number];

const fixture = JSON.parse(readFileSync(resolve('test/fixtures/keys.json'), 'utf8')) as { rsa: PrivateJwk[]; ec: PrivateJwk[]; saml: SamlKeyPair[] };

const rsa = (n: number): PrivateJwk => ({ ...fixture.rsa[n]! });
const ec = (n: number): PrivateJwk => ({ ...fixture.ec[n]! });
const saml = (n: number): SamlKeyPair => ({ ...fixture.saml[n]! });

/** The bridge's signing keys (RS256 and ES256, as generateSecrets makes them). */
const bridgeJwks = (): PrivateJwks => ({ keys: [rsa(0), ec(0)] });

/** Signing keys of other environments of a deployment (or other deployments): other keys, other kids. */
export const environmentJwks = {
  second: (): PrivateJwks => ({ keys: [rsa(4), ec(1)] }),
  third: (): PrivateJwks => ({ keys: [rsa(5), ec(2)] }),
};

/** The bundled test directory's signing key inside the bridge. */
const testDirectoryJwks = (): PrivateJwks => ({ keys: [rsa(1)] });

/** A standalone school directory's signing key (RS256, without kid: the directory names it). */
export const directoryIdpKey = (): PrivateJwk => rsa(2);

/** Another RSA key: what a directory signs with when it signs with the wrong key. */
export const foreignRsaKey = (): PrivateJwk => rsa(3);

/** An EC P-256 private JWK of a service of its own (private_key_jwt). */
export const serviceEcKey = (): PrivateJwk => ec(3);

/** SAML key pairs: the bridge's SP signing and encryption pairs, then two more for identity providers. */
export const samlKeyPairs = {
  spSigning: () => saml(0),
  spEncryption: () => saml(1),
  idp: () => saml(2),
  otherIdp: () => saml(3),
};

const randomSecret = (): string => randomBytes(32).toString('base64url');

/**
 * A deployment's secrets as generateSecrets makes them, with the fixture's keys: the symmetric ones
 * (cookie keys, salts, client secrets, directory keys) are random for each call as before, so two
 * deployments still have unrelated cookies and subjects; the asymmetric keys are the same.
 */
export function testSecrets(): BridgeSecrets {
  return {
    jwks: bridgeJwks(),
    cookieKeys: [randomSecret()],
    subjectSalt: randomSecret(),
    testDirectory: { jwks: testDirectoryJwks(), clientSecret: randomSecret() },
    attributeTestService: { clientSecret: randomSecret() },
    directoryKeys: [randomSecret()],
    saml: { signing: [samlKeyPairs.spSigning()], encryption: [samlKeyPairs.spEncryption()] },
  };
}
