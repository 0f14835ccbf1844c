import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { z } from 'zod';
import { ConfigError } from './load.js';
import type { BridgeConfig } from './schema.js';
import { generateSamlKeys, readSamlKeyPair, samlKeysSchema, type SamlKeys } from './saml-keys.js';

const privateJwk = z
  .object({ kty: z.string(), kid: z.string().min(1), d: z.string().min(1) })
  .loose()
  .describe('a private JWK with a kid');
const jwksSchema = z.object({ keys: z.array(privateJwk).min(1) });
export type PrivateJwks = z.infer<typeof jwksSchema>;

const secretsFileSchema = z.object({
  jwks: jwksSchema,
  cookieKeys: z.array(z.string().min(32)).min(1),
  subjectSalt: z.string().min(32),
  testDirectory: z.object({ jwks: jwksSchema, clientSecret: z.string().min(32) }),
  attributeTestService: z.object({ clientSecret: z.string().min(32) }),
  /** Seal the client secrets of operator-managed directories (newest first). Older development files lack them. */
  directoryKeys: z.array(z.string().min(43)).min(1).optional(),
  /** Development keys of each environment when one process serves several (see `environments`). */
  environmentJwks: z.record(z.string(), jwksSchema).optional(),
  /** The SAML service-provider keys (signing, encryption; newest first). Older development files lack them. */
  saml: samlKeysSchema.optional(),
});

/** Key material of one bridge deployment. Never logged. */
export type BridgeSecrets = z.infer<typeof secretsFileSchema> & { directoryKeys: string[]; saml: SamlKeys };

/** Signing keys, one per algorithm, in the order given. */
export async function generateSigningKeys(options: { algorithms?: ReadonlyArray<'RS256' | 'ES256'> } = {}): Promise<PrivateJwks> {
  const keys: PrivateJwks['keys'] = [];
  for (const alg of options.algorithms ?? ['RS256']) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const jwk = await exportJWK(privateKey);
    keys.push({ ...jwk, kty: jwk.kty ?? (alg === 'RS256' ? 'RSA' : 'EC'), d: jwk.d ?? '', kid: randomUUID(), alg, use: 'sig' });
  }
  return { keys };
}

const randomSecret = (): string => randomBytes(32).toString('base64url');

/** Fresh secrets for a development deployment (or a test). */
export async function generateSecrets(): Promise<BridgeSecrets> {
  return {
    // RS256 for services that ask for it, ES256 the default (defaultIdTokenAlg in create-provider.ts).
    jwks: await generateSigningKeys({ algorithms: ['RS256', 'ES256'] }),
    cookieKeys: [randomSecret()],
    subjectSalt: randomSecret(),
    testDirectory: { jwks: await generateSigningKeys(), clientSecret: randomSecret() },
    attributeTestService: { clientSecret: randomSecret() },
    directoryKeys: [randomSecret()],
    saml: await generateSamlKeys(),
  };
}

function readJson(path: string, label: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`${label}: cannot read ${path} as JSON (${(err as Error).message})`]);
  }
}

function readJwks(path: string, label: string): PrivateJwks {
  const parsed = jwksSchema.safeParse(readJson(path, label));
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${label} ${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}

function writeSecretsFile(file: string, secrets: BridgeSecrets): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * The salt of pairwise subjects, account ids and uids in one environment, derived from the
 * deployment's salt: the same child has unrelated identifiers in test, demo and production.
 */
export function environmentSubjectSalt(salt: string, environment: string): string {
  return createHmac('sha256', salt).update(`environment\0${environment}`).digest('base64url');
}

/** The secrets of one environment: its own signing keys when the process serves several. */
export function secretsForEnvironment(secrets: BridgeSecrets, environment: string): BridgeSecrets {
  const jwks = secrets.environmentJwks?.[environment];
  return jwks ? { ...secrets, jwks } : secrets;
}

/**
 * Development keeps generated secrets in a local, git-ignored file so restarts keep sessions valid.
 * Values given in configuration (JWKS file, cookie keys, subject salt) take precedence.
 */
export async function resolveSecrets(config: BridgeConfig, cwd = process.cwd()): Promise<BridgeSecrets> {
  let base: BridgeSecrets;
  const file = resolve(cwd, config.secrets.file);
  if (config.env === 'production') {
    // Production has everything explicit (checked by the config loader); the test parts are unused there.
    base = await generateSecrets();
  } else if (existsSync(file)) {
    const parsed = secretsFileSchema.safeParse(readJson(file, 'secrets.file'));
    if (!parsed.success) {
      throw new ConfigError(parsed.error.issues.map((i) => `secrets.file (${file}) ${i.path.join('.')}: ${i.message}`));
    }
    const directoryKeys = parsed.data.directoryKeys ?? [randomSecret()];
    const saml = parsed.data.saml ?? (await generateSamlKeys());
    base = { ...parsed.data, directoryKeys, saml };
    if (!parsed.data.directoryKeys || !parsed.data.saml) writeSecretsFile(file, base);
  } else {
    base = await generateSecrets();
    writeSecretsFile(file, base);
  }
  if (config.environments) {
    const environmentJwks: Record<string, PrivateJwks> = { ...base.environmentJwks };
    let generated = false;
    for (const [index, environment] of config.environments.entries()) {
      if (environment.jwksFile) {
        environmentJwks[environment.name] = readJwks(resolve(cwd, environment.jwksFile), `environments.${index}.jwksFile`);
      } else if (!environmentJwks[environment.name]) {
        environmentJwks[environment.name] = await generateSigningKeys({ algorithms: ['RS256', 'ES256'] });
        generated = true;
      }
    }
    base = { ...base, environmentJwks };
    if (generated && config.env !== 'production') writeSecretsFile(file, base);
  }
  if (config.secrets.jwksFile) base = { ...base, jwks: readJwks(resolve(cwd, config.secrets.jwksFile), 'secrets.jwksFile') };
  if (config.secrets.cookieKeys?.length) base = { ...base, cookieKeys: config.secrets.cookieKeys };
  if (config.secrets.subjectSalt) base = { ...base, subjectSalt: config.secrets.subjectSalt };
  if (config.secrets.directoryKeys?.length) base = { ...base, directoryKeys: config.secrets.directoryKeys };
  base = { ...base, saml: samlKeysFromFiles(config, cwd) ?? base.saml };
  return base;
}

/** The SAML SP keys given as files (production), each list newest first; undefined when not given. */
function samlKeysFromFiles(config: BridgeConfig, cwd: string): SamlKeys | undefined {
  const { samlSigningKeys, samlEncryptionKeys } = config.secrets;
  if (!samlSigningKeys?.length || !samlEncryptionKeys?.length) return undefined;
  try {
    return {
      signing: samlSigningKeys.map((files, index) => readSamlKeyPair(files, `secrets.samlSigningKeys.${index}`, cwd)),
      encryption: samlEncryptionKeys.map((files, index) => readSamlKeyPair(files, `secrets.samlEncryptionKeys.${index}`, cwd)),
    };
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
}
