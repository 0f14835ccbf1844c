import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { configSchema, type BridgeConfig } from './schema.js';

/** Every problem found in the configuration, each with the path of the setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const DEFAULT_CONFIG_FILE = 'config/bridge.json';

type Env = Record<string, string | undefined>;

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`CONFIG_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`CONFIG_FILE: ${path} is not valid JSON (${(err as Error).message})`]);
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Environment variables that override the file, with the setting each one sets. */
const ENV_OVERRIDES: Array<{ name: string; path: string[]; parse: (raw: string) => unknown }> = [
  { name: 'NODE_ENV', path: ['env'], parse: (v) => v },
  { name: 'MPASSID_ENVIRONMENT', path: ['environment'], parse: (v) => v },
  { name: 'PORT', path: ['port'], parse: (v) => (/^\d+$/.test(v) ? Number(v) : v) },
  { name: 'HOST', path: ['host'], parse: (v) => v },
  { name: 'ISSUER', path: ['issuer'], parse: (v) => v },
  { name: 'TRUST_PROXY', path: ['trustProxy'], parse: (v) => (v === 'true' ? true : v === 'false' ? false : v) },
  { name: 'TRUST_FORWARDED_HOST', path: ['trustForwardedHost'], parse: (v) => (v === 'true' ? true : v === 'false' ? false : v) },
  { name: 'REDIS_URL', path: ['redis', 'url'], parse: (v) => v },
  { name: 'LOG_LEVEL', path: ['logLevel'], parse: (v) => v },
  { name: 'JWKS_FILE', path: ['secrets', 'jwksFile'], parse: (v) => v },
  {
    name: 'COOKIE_KEYS',
    path: ['secrets', 'cookieKeys'],
    parse: (v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
  },
  { name: 'SUBJECT_SALT', path: ['secrets', 'subjectSalt'], parse: (v) => v },
  {
    name: 'DIRECTORY_KEYS',
    path: ['secrets', 'directoryKeys'],
    parse: (v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
  },
  { name: 'ADMIN_OPERATORS', path: ['admin', 'operators'], parse: parseJson },
  { name: 'ADMIN_PORT', path: ['admin', 'port'], parse: (v) => (/^\d+$/.test(v) ? Number(v) : v) },
  { name: 'METRICS_TOKEN', path: ['metrics', 'token'], parse: (v) => v },
  { name: 'SAML_SIGNING_KEYS', path: ['secrets', 'samlSigningKeys'], parse: parseKeyFiles },
  { name: 'SAML_ENCRYPTION_KEYS', path: ['secrets', 'samlEncryptionKeys'], parse: parseKeyFiles },
];

/** `key.pem:cert.pem[,key2.pem:cert2.pem]`: PEM files of key pairs, newest first. */
function parseKeyFiles(raw: string): unknown {
  return raw.split(',').map((pair) => {
    const [keyFile, certFile] = pair.trim().split(':');
    return { keyFile, certFile };
  });
}

/** The environment variables the bridge reads (each also as `<NAME>_FILE`, the file holding the value). */
export const ENVIRONMENT_VARIABLES: readonly string[] = ENV_OVERRIDES.map((o) => o.name);

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * The value of an override: the variable itself, or the content of the file `<NAME>_FILE` names
 * (container secrets are files, so secrets never need to be in the environment).
 */
export function environmentValue(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError([`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
  }
  return env[name];
}

/** Each issue as `path: message`; `under` is the path of the checked part within the configuration. */
export function formatIssues(issues: z.core.$ZodIssue[], under: PropertyKey[] = []): string[] {
  return issues.map((issue) => {
    const path = [...under, ...issue.path];
    return `${path.length ? path.map(String).join('.') : '(root)'}: ${issue.message}`;
  });
}

/** Rules that only apply in production: development conveniences are refused there. */
function productionProblems(config: BridgeConfig): string[] {
  if (config.env !== 'production') return [];
  const problems: string[] = [];
  // With several environments, each has its own issuer and keys (checked below).
  const single = config.environments === undefined;
  if (single && !config.issuer.startsWith('https://')) problems.push('issuer: must be https in production');
  if (single && !config.secrets.jwksFile) problems.push('secrets.jwksFile: signing keys must be provided in production (generated keys are for development)');
  if (!config.secrets.cookieKeys?.length) problems.push('secrets.cookieKeys: cookie keys must be provided in production');
  if (!config.secrets.subjectSalt) problems.push('secrets.subjectSalt: must be provided in production');
  if (config.admin.operators.length > 0 && !config.secrets.directoryKeys?.length) {
    problems.push('secrets.directoryKeys: operators can add directories, whose client secrets are sealed with these keys; provide them in production');
  }
  // SAML directories sign requests and decrypt assertions with keys the education providers have
  // configured at their identity provider: generated keys would change with every start.
  const samlPossible = config.upstreams.some((u) => u.type === 'saml') || config.admin.operators.length > 0;
  if (samlPossible && (!config.secrets.samlSigningKeys?.length || !config.secrets.samlEncryptionKeys?.length)) {
    problems.push(
      'secrets.samlSigningKeys / secrets.samlEncryptionKeys: the SAML service-provider keys must be provided in production (SAML directories can be used: operators are configured or a SAML directory is configured)',
    );
  }
  if (config.testDirectory.enabled) problems.push('testDirectory.enabled: the bundled test directory is not allowed in production');
  if (config.outbound.allowLoopback) problems.push('outbound.allowLoopback: calls to loopback and special-use addresses are for tests, not production');
  config.environments?.forEach((environment, index) => {
    if (!environment.issuer.startsWith('https://')) problems.push(`environments.${index}.issuer: must be https in production`);
    if (!environment.jwksFile) problems.push(`environments.${index}.jwksFile: each environment's signing keys must be provided in production`);
  });
  if (config.attributeTestService.enabled) problems.push('attributeTestService.enabled: the attribute test service is not allowed in production');
  if (config.organisations.source !== 'http')
    problems.push('organisations.source: production reads the organisation service ("http"), not the bundled snapshot');
  if (config.redis.mode === 'single' && !config.redis.url) problems.push('redis.url: production needs Redis (the in-memory store is for development)');
  // Test directories are served only in a test environment.
  const servesTest = single ? config.environment === 'test' : config.environments!.some((e) => e.name === 'test');
  config.upstreams.forEach((definition, index) => {
    if (definition.testOnly && !servesTest) problems.push(`upstreams.${index}.testOnly: test directories are not allowed in production`);
  });
  // oidc-provider never delivers logout tokens to loopback or private addresses: say so at start.
  config.clients.forEach((client, index) => {
    const uri = client.backchannel_logout_uri;
    if (uri && !/^https:\/\/[^/]*[a-z][^/]*\//i.test(`${uri}/`.replace(/\/\/$/, '/'))) {
      problems.push(`clients.${index}.backchannel_logout_uri: must be an https URL of a public host name in production`);
    }
  });
  return problems;
}

function crossFieldProblems(config: BridgeConfig): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const places = new Set<string>();
  config.environments?.forEach((environment, index) => {
    if (names.has(environment.name)) problems.push(`environments.${index}.name: "${environment.name}" is served twice`);
    names.add(environment.name);
    const url = new URL(environment.issuer);
    const place = `${url.host}${url.pathname.replace(/\/+$/, '')}`;
    if (places.has(place)) problems.push(`environments.${index}.issuer: another environment has the same issuer`);
    places.add(place);
    if (url.search || url.hash) problems.push(`environments.${index}.issuer: no query or fragment`);
  });
  const seen = new Set<string>();
  config.upstreams.forEach((definition, index) => {
    if (seen.has(definition.id)) problems.push(`upstreams.${index}.id: duplicate directory id "${definition.id}"`);
    seen.add(definition.id);
  });
  const roleInputs = new Map<string, number>();
  config.roles.forEach((role, index) => {
    for (const input of role.inputs) {
      const key = input.trim().toLocaleLowerCase('fi');
      const other = roleInputs.get(key);
      if (other !== undefined && other !== index) problems.push(`roles.${index}.inputs: "${input}" is also an input of roles.${other}`);
      roleInputs.set(key, index);
    }
  });
  // Without trustProxy Koa ignores every X-Forwarded-* header; the setting would silently do nothing.
  if (config.trustForwardedHost && !config.trustProxy) problems.push('trustForwardedHost: needs trustProxy (the host is forwarded by the same proxy)');
  if (config.testDirectory.enabled && seen.has(config.testDirectory.upstreamId)) {
    problems.push(`testDirectory.upstreamId: "${config.testDirectory.upstreamId}" is also used by an upstream`);
  }
  // Services, directories and the audit log are the federation's records: never silently volatile.
  const inMemory = config.redis.mode === 'single' && !config.redis.url;
  if (inMemory && config.admin.operators.length > 0 && !config.admin.allowInMemoryRecords) {
    problems.push(
      "admin.operators: the admin API keeps the federation's records (services, directories, the audit log), which the in-memory store loses at every restart: set REDIS_URL, or admin.allowInMemoryRecords: true for development",
    );
  }
  if (config.admin.port !== undefined && config.admin.port !== 0 && config.admin.port === config.port) {
    problems.push('admin.port: must differ from port (the admin API is then served only on its own listener)');
  }
  if (config.environment === 'production' && config.testDirectory.enabled) {
    problems.push('testDirectory.enabled: the bundled test directory is not allowed in the production environment');
  }
  return problems;
}

/**
 * Without an issuer, the development default names the port the bridge listens on (a bridge started
 * with PORT=4000 alone is http://localhost:4000, not :3000).
 */
function withIssuerOfPort(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const { issuer, port, environments } = raw as { issuer?: unknown; port?: unknown; environments?: unknown };
  if (issuer !== undefined || environments !== undefined || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return raw;
  return { ...raw, issuer: `http://localhost:${port}` };
}

/**
 * Parses a raw configuration object. Throws ConfigError listing every invalid setting at once.
 */
export function parseConfig(raw: unknown): BridgeConfig {
  const result = configSchema.safeParse(withIssuerOfPort(raw));
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
  const problems = [...crossFieldProblems(result.data), ...productionProblems(result.data)];
  if (problems.length) throw new ConfigError(problems);
  return result.data;
}

/**
 * Reads the config file (CONFIG_FILE, or config/bridge.json when present), applies environment
 * overrides and validates the result.
 */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): BridgeConfig {
  const explicitFile = env.CONFIG_FILE;
  const file = resolve(cwd, explicitFile ?? DEFAULT_CONFIG_FILE);
  const raw = (explicitFile || existsSync(file) ? readConfigFile(file) : {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(['(root): the configuration file must hold a JSON object']);
  }
  for (const override of ENV_OVERRIDES) {
    const value = environmentValue(env, override.name);
    if (value !== undefined && value !== '') setPath(raw, override.path, override.parse(value));
  }
  return parseConfig(raw);
}
