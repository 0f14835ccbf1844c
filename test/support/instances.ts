import { hashPassword } from '../../src/admin/passwords.js';
import type { BridgeConfigInput } from '../../src/config/schema.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { runAdminCli } from './admin-cli.js';
import { startBridge, type BridgeHandle } from './bridge.js';
import { OPERATOR } from './environments.js';
import { RP_CLIENT, RP_REDIRECT } from './federation.js';
import { testSecrets } from './keys.js';
import { listeningHttpServer } from './ports.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { RelyingParty } from './relying-party.js';
import { linksWithText, UserAgent, type Page } from './user-agent.js';
import { expect } from '@jest/globals';

/**
 * Two instances of one deployment on one Redis: instance A, where the operator works (its CLI), and
 * instance B, running since before anything was onboarded. Every request looks at the shared
 * revision (directory changes reach B at once); health is checked on demand.
 */
export interface TwoInstances {
  redis: RedisServerHandle;
  secrets: BridgeSecrets;
  a: BridgeHandle;
  b: BridgeHandle;
  /** The admin CLI against instance A, as the operator. */
  cli(args: string[], stdin?: string): ReturnType<typeof runAdminCli>;
  /** The test service (RP_CLIENT) at an instance. */
  service(bridge: BridgeHandle): Promise<RelyingParty>;
  /**
   * An attribute check of a directory: the operator issues its link on A, a school administrator opens
   * it on B and follows its sign-in link; resolves with the agent at the directory's sign-in page.
   */
  openCheckAtB(directoryId: string): Promise<{ agent: UserAgent; atDirectory: Page }>;
  stop(): Promise<void>;
}

/**
 * Starts the pair. `prepare` runs once both servers listen (a directory server may need their ports,
 * which name their callback addresses) and returns settings of its own for both instances.
 */
export async function startTwoInstances(
  prepare?: (context: { ports: { a: number; b: number }; secrets: BridgeSecrets }) => Promise<Omit<BridgeConfigInput, 'issuer' | 'port'> | undefined>,
): Promise<TwoInstances> {
  const redis = await startRedisServer();
  const secrets = testSecrets();
  const listeners = { a: await listeningHttpServer(), b: await listeningHttpServer() };
  const own = (await prepare?.({ ports: { a: listeners.a.port, b: listeners.b.port }, secrets })) ?? {};
  const config = {
    redis: { url: redis.url, commandTimeoutMs: 1000 },
    admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
    clients: [RP_CLIENT],
    directories: { refreshIntervalMs: 0, healthCheckIntervalSeconds: 0 },
    ...own,
  };
  const a = await startBridge({ server: listeners.a.server, secrets, config });
  const b = await startBridge({ server: listeners.b.server, secrets, config });
  return {
    redis,
    secrets,
    a,
    b,
    cli: (args, stdin) => runAdminCli({ url: a.issuer, user: OPERATOR.username, password: OPERATOR.password }, args, stdin),
    async openCheckAtB(directoryId) {
      const issued = await runAdminCli({ url: a.issuer, user: OPERATOR.username, password: OPERATOR.password }, ['directory', 'check-link', directoryId]);
      expect(issued.code).toBe(0);
      const url = issued.stdout.trim().split('\n').at(-1)!;
      const agent = new UserAgent('en');
      const start = await agent.get(url.replace(a.issuer, b.issuer));
      expect(start.status).toBe(200);
      const [startHref] = linksWithText(start, 'Sign in with a test account');
      return { agent, atDirectory: await agent.get(startHref!) };
    },
    service: (bridge) =>
      RelyingParty.discover({ issuer: bridge.issuer, clientId: RP_CLIENT.client_id, clientSecret: RP_CLIENT.client_secret, redirectUri: RP_REDIRECT }),
    async stop() {
      await b.stop();
      await a.stop();
      await redis.stop();
    },
  };
}
