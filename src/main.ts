import { createServer, type Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { resolve } from 'node:path';
import { adminPaths, createAdminListenerApp } from './admin/listener.js';
import { createDeployment } from './deployment.js';
import { underIssuer } from './http/base-path.js';
import { ConfigError, loadConfig } from './config/load.js';
import { resolveSecrets, type BridgeSecrets } from './config/secrets.js';
import type { BridgeConfig } from './config/schema.js';
import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from './observability/logger.js';
import { createStorage, waitUntilAvailable } from './storage/index.js';
import type { Storage } from './storage/types.js';
import { loadTestUsers } from './testdirectory/users.js';
import { configuredDirectories } from './directories/configured.js';
import { configuredServices } from './services/configured.js';

/**
 * Human-readable logs for a developer at a terminal (pino-pretty, a development dependency); JSON
 * lines everywhere else, and always in production.
 */
async function developmentLogStream(env: string): Promise<DestinationStream | undefined> {
  if (env === 'production' || !process.stdout.isTTY) return undefined;
  try {
    const { default: pretty } = await import('pino-pretty');
    return pretty({ colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname,service' });
  } catch {
    return undefined;
  }
}

/**
 * The registered services, directories and the audit log live in Redis with the sessions: in
 * production it must keep them across its own restart (AOF) and never evict them under memory
 * pressure. Where CONFIG is refused (managed Redis), the operator's word is taken, with a warning.
 */
async function durableEnough(config: BridgeConfig, storage: Storage, logger: Logger): Promise<boolean> {
  if (config.env !== 'production' || storage.kind !== 'redis' || !storage.isAvailable()) return true;
  const { appendOnly, evictionPolicy } = await storage.durability();
  if (appendOnly === undefined) {
    logger.warn('cannot read the Redis persistence settings (CONFIG refused): make sure it runs with appendonly yes and maxmemory-policy noeviction');
    return true;
  }
  const problems = [
    ...(appendOnly ? [] : ['appendonly is off (records would vanish with a Redis restart): set appendonly yes, appendfsync everysec']),
    ...(evictionPolicy && evictionPolicy !== 'noeviction' ? [`maxmemory-policy is ${evictionPolicy} (records could be evicted): set noeviction`] : []),
  ];
  if (problems.length === 0) return true;
  if (config.redis.allowWithoutPersistence) {
    logger.warn({ problems }, 'Redis persistence is not assured; starting because redis.allowWithoutPersistence is set');
    return true;
  }
  process.stderr.write(
    `MPASSid Bridge refuses to start in production:\n${problems.map((p) => `  - redis: ${p}`).join('\n')}\n  (or set redis.allowWithoutPersistence, if persistence is assured another way)\n`,
  );
  return false;
}

/** The port a server listens on: the configured one, or the one the system chose for port 0. */
function listeningPort(server: Server): number | undefined {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : undefined;
}

/** After SIGTERM, how long connections already accepted may still deliver their request. */
const SHUTDOWN_READ_GRACE_MS = 1000;

/** Process entry: load configuration → build dependencies → listen; stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: BridgeConfig;
  try {
    config = loadConfig();
    // The parts of the file whose settings their own modules check: refused before anything starts.
    configuredDirectories(config);
    configuredServices(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, await developmentLogStream(config.env));
  let secrets: BridgeSecrets;
  try {
    secrets = await resolveSecrets(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const storage = createStorage(config.redis, { onError: (err: Error) => logger.warn({ err }, 'store connection problem') });
  if (!(await waitUntilAvailable(storage, config.redis.connectTimeoutMs * 2))) {
    logger.warn('Redis is not reachable yet: answering 503 until it is');
  }
  if (!(await durableEnough(config, storage, logger))) process.exit(1);
  const served = config.environments?.map((e) => e.name) ?? [config.environment];
  const directory = config.testDirectory;
  const testUsers = directory.enabled && served.includes('test') ? loadTestUsers(resolve(directory.usersFile)) : undefined;
  const demoUsers = directory.enabled && served.includes('demo') ? loadTestUsers(resolve(directory.demoUsersFile)) : undefined;
  let stopping = false;
  const { app, environments } = createDeployment({
    config,
    secrets,
    storage,
    logger,
    stopping: () => stopping,
    ...(testUsers ? { testUsers } : {}),
    ...(demoUsers ? { demoUsers } : {}),
  });

  const server: Server = createServer(app.callback());
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((done) => server.listen(config.port, config.host, done));
  // With admin.port the admin API is served only here (the public port answers 404 under /admin/api).
  let adminServer: Server | undefined;
  if (config.admin.port !== undefined) {
    const adminOptions = { environments: environments.map((e) => ({ name: e.name, admin: e.bridge.admin })), byName: config.environments !== undefined };
    adminServer = createServer(createAdminListenerApp({ ...adminOptions, storage, logger, trustProxy: config.trustProxy }).callback());
    adminServer.requestTimeout = 30_000;
    adminServer.headersTimeout = 10_000;
    await new Promise<void>((done) => adminServer!.listen(config.admin.port, config.admin.host, done));
    logger.info({ host: config.admin.host, port: listeningPort(adminServer), paths: adminPaths(adminOptions) }, 'admin API listening');
  }
  for (const environment of environments) environment.bridge.health.start();
  if (storage.kind === 'memory' && config.admin.operators.length > 0) {
    const warning =
      'THE ADMIN API RUNS ON THE IN-MEMORY STORE: registered services, directories and the audit log vanish at every restart (development only; set REDIS_URL)';
    logger.warn(warning);
    process.stderr.write(`\n  WARNING: ${warning}\n\n`);
  }
  logger.info(
    { environments: environments.map((e) => ({ environment: e.name, issuer: e.issuer })), port: listeningPort(server), store: storage.kind, env: config.env },
    'MPASSid Bridge listening',
  );
  if (config.env !== 'production') {
    const lines = environments.map((e) => {
      const settings = e.bridge.config;
      return (
        `\nMPASSid Bridge (${e.name} environment) is running at ${e.issuer}\n` +
        (settings.attributeTestService.enabled ? `  Attribute test service: ${underIssuer(e.issuer, '/attribute-test')}\n` : '') +
        `  Discovery: ${underIssuer(e.issuer, '/.well-known/openid-configuration')}\n` +
        (settings.testDirectory.enabled ? '  Test users: pupil-complete … (password: the username + "pwd"), listed on the test school login page\n' : '')
      );
    });
    process.stdout.write(`${lines.join('')}  Store: ${storage.kind === 'memory' ? 'in process memory (set REDIS_URL to use Redis)' : 'Redis'}\n\n`);
  }

  // While stopping, every answer closes its connection: keep-alive clients move to another instance.
  for (const listener of [server, adminServer]) {
    listener?.prependListener('request', (_req, res) => {
      if (stopping) res.setHeader('Connection', 'close');
    });
  }
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    // A load balancer is told first (/readyz answers 503) and has time to send nothing new: a
    // connection still waiting to be accepted when the listener closes would be reset unanswered.
    // A developer's Ctrl-C does not wait.
    const drainMs = signal === 'SIGTERM' ? config.shutdownDrainSeconds * 1000 : 0;
    logger.info({ signal, drainMs }, 'shutting down');
    for (const environment of environments) environment.bridge.health.stop();
    /*
     * Stop accepting, and finish what was accepted: http.Server#close would also drop connections
     * accepted but not yet read (their request lost), so the listener is closed as a plain net
     * server, and idle keep-alive connections are closed only after a moment in which requests
     * already on their way are still read and answered.
     */
    const closeListener = (listener: Server | undefined, done?: () => void) => listener && NetServer.prototype.close.call(listener, done);
    setTimeout(() => {
      closeListener(adminServer);
      closeListener(server, () => {
        void storage.close().finally(() => process.exit(0));
      });
      setTimeout(() => {
        server.closeIdleConnections();
        adminServer?.closeIdleConnections();
      }, SHUTDOWN_READ_GRACE_MS).unref();
    }, drainMs).unref();
    setTimeout(() => process.exit(0), drainMs + 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`MPASSid Bridge failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
