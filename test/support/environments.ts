import { hashPassword } from '../../src/admin/passwords.js';
import type { BridgeConfigInput } from '../../src/config/schema.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { startFederation, SCHOOL_DIRECTORY_ID, type Federation } from './federation.js';
import { testSecrets } from './keys.js';
import { listeningHttpServer } from './ports.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from './directory-idp.js';

export const OPERATOR = { username: 'operator', password: 'operator-password-0123456789' };
export const basicAuth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
export const OPERATOR_AUTH = basicAuth(OPERATOR.username, OPERATOR.password);

/** What a service keeps from its registration (RFC 7591 response). */
export interface Registered {
  client_id: string;
  client_secret: string;
  registration_access_token: string;
  registration_client_uri: string;
  [key: string]: unknown;
}

export interface Environments {
  redis: RedisServerHandle;
  secrets: BridgeSecrets;
  directoryIdp: DirectoryIdpHandle;
  test: Federation;
  demo: Federation;
  prod: Federation;
  stop(): Promise<void>;
}

type ConfigExtras = Omit<BridgeConfigInput, 'issuer' | 'port' | 'upstreams'>;

export interface EnvironmentsOptions {
  /** More settings of the test environment's bridge. */
  test?: ConfigExtras;
  /** Settings of the school directory's entry in every bridge (default: whose accounts suits each environment). */
  directoryConfig?: Record<string, unknown>;
}

/**
 * Three bridges of one federation sharing Redis and secrets: the test, demo and production
 * environments, each federating to one school directory (a real OpenID Provider), with an operator.
 */
export async function startEnvironments(options: EnvironmentsOptions = {}): Promise<Environments> {
  const redis = await startRedisServer();
  const secrets = testSecrets();
  // The directory knows all three bridges' callbacks: their servers listen before anything is built.
  const listeners = { test: await listeningHttpServer(), demo: await listeningHttpServer(), prod: await listeningHttpServer() };
  const directoryIdp = await startDirectoryIdp({
    redirectUris: Object.values(listeners).map(({ port }) => `http://127.0.0.1:${port}/upstream/${SCHOOL_DIRECTORY_ID}/callback`),
  });
  const common = {
    redis: { url: redis.url, commandTimeoutMs: 1000 },
    admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
  };
  const shared = { secrets, directoryIdp, ...(options.directoryConfig ? { directoryConfig: options.directoryConfig } : {}) };
  const test = await startFederation({ ...shared, server: listeners.test.server, config: { ...common, environment: 'test', ...options.test } });
  const demo = await startFederation({
    ...shared,
    server: listeners.demo.server,
    config: { ...common, environment: 'demo', testDirectory: { enabled: false } },
  });
  const prod = await startFederation({
    ...shared,
    server: listeners.prod.server,
    config: { ...common, environment: 'production', testDirectory: { enabled: false }, attributeTestService: { enabled: false } },
  });
  return {
    redis,
    secrets,
    directoryIdp,
    test,
    demo,
    prod,
    async stop() {
      await prod.stop();
      await demo.stop();
      await test.stop();
      await directoryIdp.stop();
      await redis.stop();
    },
  };
}

/** One call of the admin API of `fed` (JSON in and out). */
export async function adminCall(fed: Federation, method: string, path: string, body?: unknown, auth = OPERATOR_AUTH) {
  const response = await fetch(`${fed.bridge.issuer}/admin/api${path}`, {
    method,
    headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: (await response.json()) as Record<string, any> };
}
