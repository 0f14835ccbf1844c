import { describe, expect, it } from '@jest/globals';
import { generateSecrets, type PrivateJwks } from '../../src/config/secrets.js';
import { samlKeyPairProblem } from '../../src/config/saml-keys.js';
import { testSecrets } from '../support/keys.js';

/** What kind of key each entry is: the fixture's must be what the generator makes. */
const kinds = (jwks: PrivateJwks) =>
  jwks.keys.map((k) => ({ kty: k.kty, alg: k.alg, crv: k.crv, use: k.use, bits: typeof k.n === 'string' ? k.n.length * 6 : undefined }));

describe("the tests' pre-generated keys (test/support/keys.ts)", () => {
  it('make secrets of the shape generateSecrets makes, key for key, so suites using them test what a deployment runs', async () => {
    const [fixture, generated] = [testSecrets(), await generateSecrets()];
    expect(Object.keys(fixture).sort()).toEqual(Object.keys(generated).sort());
    expect(kinds(fixture.jwks)).toEqual(kinds(generated.jwks));
    expect(kinds(fixture.testDirectory.jwks)).toEqual(kinds(generated.testDirectory.jwks));
    expect(fixture.saml.signing).toHaveLength(generated.saml.signing.length);
    expect(fixture.saml.encryption).toHaveLength(generated.saml.encryption.length);
    for (const pair of [...fixture.saml.signing, ...fixture.saml.encryption]) expect(samlKeyPairProblem(pair)).toBeUndefined();
  });

  it('give each deployment its own symmetric secrets, and no two roles the same key', () => {
    const [a, b] = [testSecrets(), testSecrets()];
    expect(a.cookieKeys).not.toEqual(b.cookieKeys);
    expect(a.subjectSalt).not.toBe(b.subjectSalt);
    const moduli = [...a.jwks.keys, ...a.testDirectory.jwks.keys].map((k) => k.n ?? k.x);
    expect(new Set(moduli).size).toBe(moduli.length);
    expect(a.saml.signing[0]!.key).not.toBe(a.saml.encryption[0]!.key);
  });
});
