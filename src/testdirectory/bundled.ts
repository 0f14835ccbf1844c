import { createHmac } from 'node:crypto';
import type { Middleware } from 'koa';
import type { BridgeConfig } from '../config/schema.js';
import type { BridgeSecrets } from '../config/secrets.js';
import { configuredDirectorySchema, type ConfiguredDirectory } from '../directories/definition.js';
import { underIssuer } from '../http/base-path.js';
import { mountAt } from '../http/mount.js';
import type { BundledSimulator } from './bundled-simulator.js';
import { OPINSYS_SIMULATOR } from './opinsys/bundled.js';
import type { TestUser } from './users.js';
import { WILMA_SIMULATOR } from './wilma/bundled.js';

const SIMULATORS: readonly BundledSimulator[] = [OPINSYS_SIMULATOR, WILMA_SIMULATOR];

/** Directory ids the bundled simulators hold (never given to operator-managed directories). */
export const BUNDLED_SIMULATOR_IDS: readonly string[] = SIMULATORS.map((s) => s.id);

const bundled = (config: BridgeConfig): boolean => config.testDirectory.enabled && config.environment === 'test';

/** Derived from the test directory's secret, so a bundled pair needs no secret of its own to be kept. */
function sharedSecret(secrets: BridgeSecrets, simulator: BundledSimulator): string {
  return createHmac('sha256', secrets.testDirectory.clientSecret).update(`${simulator.id} simulator shared secret`).digest('base64url');
}

/** The directory entries of the bundled simulators (none unless the test directory is on, in the test environment). */
export function bundledSimulatorDirectories(config: BridgeConfig, secrets: BridgeSecrets): Array<ConfiguredDirectory & { clientSecret: string }> {
  if (!bundled(config)) return [];
  return SIMULATORS.map((simulator) => ({
    ...configuredDirectorySchema.parse({ id: simulator.id, accounts: 'test', ...simulator.settings(underIssuer(config.issuer, simulator.path)) }),
    clientSecret: sharedSecret(secrets, simulator),
  }));
}

/** The simulators, each mounted at its path under the bridge's host. */
export function bundledSimulators(config: BridgeConfig, secrets: BridgeSecrets, users: TestUser[]): Middleware[] {
  if (!bundled(config)) return [];
  return SIMULATORS.map((simulator) => {
    const baseUrl = underIssuer(config.issuer, simulator.path);
    return mountAt(simulator.path, simulator.serve({ baseUrl, sharedSecret: sharedSecret(secrets, simulator), users, config, secrets }));
  });
}
