import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { resolve } from 'node:path';
import { createAdminListenerApp } from '../../src/admin/listener.js';
import { createBridge, type Bridge } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { BridgeConfig, BridgeConfigInput } from '../../src/config/schema.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { createLogger } from '../../src/observability/logger.js';
import { createOrganisationRegistry } from '../../src/organisations/index.js';
import { createStorage, waitUntilAvailable } from '../../src/storage/index.js';
import type { Storage } from '../../src/storage/types.js';
import { loadTestUsers } from '../../src/testdirectory/users.js';
import { testSecrets } from './keys.js';
import { listenOnLoopback, rebind } from './ports.js';

export interface BridgeHandle {
  issuer: string;
  port: number;
  config: BridgeConfig;
  secrets: BridgeSecrets;
  storage: Storage;
  bridge: Bridge;
  /** With `adminListener`: the admin listener's base URL (its API at `${adminUrl}/admin/api`). */
  adminUrl?: string;
  /** Every log line the bridge wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The raw log text (for asserting that nothing sensitive was written). */
  logText(): string;
  stop(): Promise<void>;
}

export interface StartBridgeOptions {
  config?: Omit<BridgeConfigInput, 'issuer' | 'port'>;
  secrets?: BridgeSecrets;
  /** Serve on this server, already listening (see listenOnLoopback): its port was needed before the bridge. */
  server?: Server;
  /** The port of an earlier run of this bridge, bound again (a restart); a port the OS picks by default. */
  port?: number;
  /** Another instance's issuer: this process then serves the same deployment on its own port. */
  issuer?: string;
  /** Serve the admin API on a listener of its own (admin.port, a free loopback port), as src/main.ts does. */
  adminListener?: boolean;
  /** The organisation registry cache's clock (its injectable `now`), for tests that move time on. */
  organisationsClock?: () => number;
}

/**
 * Runs a real bridge on a loopback port, built exactly as src/main.ts builds it. Two bridges given
 * the same secrets and Redis behave as two instances of one deployment.
 */
export async function startBridge(options: StartBridgeOptions = {}): Promise<BridgeHandle> {
  const server = options.server ?? createServer();
  const port = options.server
    ? (server.address() as { port: number }).port
    : options.port !== undefined
      ? await rebind(() => listenOnLoopback(server, options.port))
      : await listenOnLoopback(server);
  try {
    return await serve(server, port, options);
  } catch (err) {
    server.close();
    throw err;
  }
}

async function serve(server: Server, port: number, options: StartBridgeOptions): Promise<BridgeHandle> {
  const issuer = options.issuer ?? `http://127.0.0.1:${port}`;
  const adminServer = options.adminListener ? createServer() : undefined;
  const adminPort = adminServer ? await listenOnLoopback(adminServer) : undefined;
  const withPort = adminPort === undefined ? options.config?.admin : { ...options.config?.admin, port: adminPort };
  // Tests that keep their records in process memory say so, as a developer would.
  const inMemory = !(options.config?.redis as { url?: string } | undefined)?.url;
  const admin = withPort && inMemory ? { allowInMemoryRecords: true, ...withPort } : withPort;
  const config = parseConfig({ env: 'test', logLevel: 'info', ...options.config, ...(admin ? { admin } : {}), issuer, port });
  const secrets = options.secrets ?? testSecrets();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const storage = createStorage(config.redis);
  await waitUntilAvailable(storage, 5000);
  const testUsers = config.testDirectory.enabled ? loadTestUsers(resolve(config.testDirectory.usersFile)) : undefined;
  const demoUsers = config.testDirectory.enabled ? loadTestUsers(resolve(config.testDirectory.demoUsersFile)) : undefined;
  // With a clock of the test's: the registry createBridge would build (the shared store included), on that clock.
  const organisations = options.organisationsClock
    ? createOrganisationRegistry(config.organisations, { shared: storage.state('organisations'), now: options.organisationsClock })
    : undefined;
  const bridge = createBridge({
    config,
    secrets,
    storage,
    logger,
    ...(testUsers ? { testUsers } : {}),
    ...(demoUsers ? { demoUsers } : {}),
    ...(organisations ? { organisations } : {}),
  });
  server.on('request', bridge.app.callback());
  adminServer?.on(
    'request',
    createAdminListenerApp({
      environments: [{ name: config.environment, admin: bridge.admin }],
      byName: false,
      storage,
      logger,
      trustProxy: config.trustProxy,
    }).callback(),
  );
  bridge.health.start();
  return {
    issuer,
    port,
    config,
    secrets,
    storage,
    bridge,
    ...(adminPort !== undefined ? { adminUrl: `http://127.0.0.1:${adminPort}` } : {}),
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
    async stop() {
      bridge.health.stop();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      if (adminServer) {
        adminServer.closeAllConnections();
        await new Promise<void>((done) => adminServer.close(() => done()));
      }
      await storage.close();
    },
  };
}
