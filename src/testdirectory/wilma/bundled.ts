import { createHmac } from 'node:crypto';
import type { Middleware } from 'koa';
import type { BridgeConfig } from '../../config/schema.js';
import { configuredDirectorySchema, type ConfiguredDirectory } from '../../directories/definition.js';
import type { BridgeSecrets } from '../../config/secrets.js';
import { underIssuer } from '../../http/base-path.js';
import { mountAt } from '../../http/mount.js';
import type { TestUser } from '../users.js';
import { createWilmaSimulator } from './simulator.js';

/** The bundled Wilma test directory: its id at the bridge and where its simulator is served. */
export const WILMA_TEST_DIRECTORY_ID = 'test-wilma';
const WILMA_SIMULATOR_PATH = '/test-wilma';

/** Offered beside the bundled OIDC test directory, in the test environment (its users are test accounts). */
const bundled = (config: BridgeConfig): boolean => config.testDirectory.enabled && config.environment === 'test';

/** Derived from the test directory's secret, so the bundled pair needs no secret of its own to be kept. */
function sharedSecret(secrets: BridgeSecrets): string {
  return createHmac('sha256', secrets.testDirectory.clientSecret).update('wilma simulator shared secret').digest('base64url');
}

/**
 * The directory entry of the bundled Wilma simulator (none when the test directory is off). The
 * simulator also answers what the legacy answer lacks, under the names the default mapping reads,
 * so its test users pass the validation table as they do at the OIDC test directory.
 */
export function bundledWilmaDirectories(config: BridgeConfig, secrets: BridgeSecrets): Array<ConfiguredDirectory & { clientSecret: string }> {
  if (!bundled(config)) return [];
  return [
    {
      ...configuredDirectorySchema.parse({
        type: 'wilma',
        id: WILMA_TEST_DIRECTORY_ID,
        displayName: { fi: 'Mansikkalan testikoulu (Wilma)', sv: 'Mansikkala testskola (Wilma)', en: 'Mansikkala test school (Wilma)' },
        baseUrl: underIssuer(config.issuer, WILMA_SIMULATOR_PATH),
        userAttributes: {
          learner_id: 'learner_id',
          nickname: 'nickname',
          group_levels: 'roles[].class_level',
          learning_materials_charges: 'roles[].learning_materials_charge',
        },
        accounts: 'test',
      }),
      clientSecret: sharedSecret(secrets),
    },
  ];
}

/** The simulator, mounted at its path under the bridge's host (undefined when the test directory is off). */
export function bundledWilmaSimulator(config: BridgeConfig, secrets: BridgeSecrets, users: TestUser[]): Middleware | undefined {
  if (!bundled(config)) return undefined;
  const simulator = createWilmaSimulator({
    baseUrl: underIssuer(config.issuer, WILMA_SIMULATOR_PATH),
    secret: sharedSecret(secrets),
    users,
    returnUrlPrefixes: [underIssuer(config.issuer, `/upstream/${WILMA_TEST_DIRECTORY_ID}/callback?`)],
    secureCookies: config.issuer.startsWith('https://'),
  });
  return mountAt(WILMA_SIMULATOR_PATH, simulator.middleware);
}
