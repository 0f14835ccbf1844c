import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { PrivateJwks } from '../config/secrets.js';
import { generateSamlKeys } from '../config/saml-keys.js';
import { hashPassword } from './passwords.js';

/**
 * Everything a new production deployment needs that must never be in the repository, written to a
 * folder of its own (git-ignored `secrets/` by default), one file per secret so that container
 * secrets can mount them: the signing JWKS, cookie keys, the subject salt, directory keys and a
 * first operator. The operator's password is printed once and not stored.
 */

export interface InitResult {
  dir: string;
  files: Record<string, string>;
  operator: { username: string; password: string };
}

/** The file names, each read by the bridge through `<VARIABLE>_FILE` (see docker-compose.yml). */
export const SECRET_FILES = {
  jwks: 'jwks.json',
  cookieKeys: 'cookie-keys',
  subjectSalt: 'subject-salt',
  directoryKeys: 'directory-keys',
  operators: 'admin-operators.json',
  samlSigningKey: 'saml-signing.key',
  samlSigningCert: 'saml-signing.crt',
  samlEncryptionKey: 'saml-encryption.key',
  samlEncryptionCert: 'saml-encryption.crt',
} as const;

const randomSecret = (): string => randomBytes(32).toString('base64url');

/** An RS256 and an ES256 signing key: ES256 signs the ID tokens of services that name no algorithm, RS256 those of services that ask for it (defaultIdTokenAlg). */
async function generateProductionJwks(): Promise<PrivateJwks> {
  const keys: PrivateJwks['keys'] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 3072 } : {}) });
    const jwk = await exportJWK(privateKey);
    keys.push({ ...jwk, kty: jwk.kty ?? '', d: jwk.d ?? '', kid: randomUUID(), alg, use: 'sig' });
  }
  return { keys };
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export async function initDeployment(options: { dir: string; operator: string; environments?: string[] }): Promise<InitResult> {
  const dir = resolve(options.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(`${dir} is not empty: it may hold a deployment's secrets already (choose another --dir, or remove it deliberately)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  const files: Record<string, string> = {};
  const put = (name: string, content: string) => {
    const path = join(dir, name);
    writeSecret(path, content);
    files[name] = path;
  };
  put(SECRET_FILES.jwks, `${JSON.stringify(await generateProductionJwks(), null, 2)}\n`);
  put(SECRET_FILES.cookieKeys, `${randomSecret()}\n`);
  put(SECRET_FILES.subjectSalt, `${randomSecret()}\n`);
  put(SECRET_FILES.directoryKeys, `${randomSecret()}\n`);
  const operator = {
    username: options.operator,
    passwordHash: await hashPassword(password),
    ...(options.environments ? { environments: options.environments } : {}),
  };
  put(SECRET_FILES.operators, `${JSON.stringify([operator], null, 2)}\n`);
  // The SAML service-provider keys (education providers' identity providers trust their certificates).
  const saml = await generateSamlKeys();
  put(SECRET_FILES.samlSigningKey, saml.signing[0]!.key);
  put(SECRET_FILES.samlSigningCert, saml.signing[0]!.cert);
  put(SECRET_FILES.samlEncryptionKey, saml.encryption[0]!.key);
  put(SECRET_FILES.samlEncryptionCert, saml.encryption[0]!.cert);
  return { dir, files, operator: { username: options.operator, password } };
}

/** What the operator must know after `init`: where things are, what to keep safe and why. */
export function describeInit(result: InitResult): string {
  return [
    `Secrets of a new MPASSid Bridge deployment written to ${result.dir} (readable by the owner only):`,
    ...Object.keys(result.files).map((name) => `  ${name}`),
    '',
    `First operator: ${result.operator.username}`,
    `  password: ${result.operator.password}`,
    '  (shown once, not stored: keep it in your password manager; add operators to admin-operators.json with `npm run admin -- hash-password`)',
    '',
    'Keep safe, and back up apart from the servers:',
    `  ${SECRET_FILES.subjectSalt}   never change it: every pairwise subject and account id is derived from it`,
    `  ${SECRET_FILES.directoryKeys}  seals the directories' client secrets; losing it means giving every secret again`,
    `  ${SECRET_FILES.jwks}       the signing keys; rotate with \`npm run admin -- keys rotate\`, never by replacing the file`,
    `  ${SECRET_FILES.cookieKeys}    changing it ends every signed-in session`,
    '  saml-*.key/.crt  the SAML service-provider keys; education providers trust these certificates',
    '',
    'docker-compose.yml mounts this folder as container secrets (SECRETS_DIR, default ./secrets).',
  ].join('\n');
}
