import { createHmac } from 'node:crypto';
import type { Middleware } from 'koa';
import type { BridgeConfig } from '../../config/schema.js';
import { configuredDirectorySchema, type ConfiguredDirectory } from '../../directories/definition.js';
import type { BridgeSecrets } from '../../config/secrets.js';
import { underIssuer } from '../../http/base-path.js';
import { mountAt } from '../../http/mount.js';
import type { TestUser } from '../users.js';
import { createOpinsysSimulator } from './simulator.js';

/** The bundled Opinsys test directory: its id at the bridge and where its simulator is served. */
export const OPINSYS_TEST_DIRECTORY_ID = 'test-opinsys';
const OPINSYS_SIMULATOR_PATH = '/test-opinsys';

/** Offered where the bundled OIDC test directory is, in the test environment (its users are test accounts). */
const bundled = (config: BridgeConfig): boolean => config.testDirectory.enabled && config.environment === 'test';

/** The shared secret of the bundled pair, derived from the test directory's so no new secret has to be kept. */
function sharedSecret(secrets: BridgeSecrets): string {
  return createHmac('sha256', secrets.testDirectory.clientSecret).update('opinsys simulator shared secret').digest('base64url');
}

/** The directory entry of the bundled Opinsys simulator (none when the test directory is off). */
export function bundledOpinsysDirectories(config: BridgeConfig, secrets: BridgeSecrets): Array<ConfiguredDirectory & { clientSecret: string }> {
  if (!bundled(config)) return [];
  return [
    {
      ...configuredDirectorySchema.parse({
        type: 'opinsys',
        id: OPINSYS_TEST_DIRECTORY_ID,
        displayName: { fi: 'Mansikkalan testikoulu (Opinsys)', sv: 'Mansikkala testskola (Opinsys)', en: 'Mansikkala test school (Opinsys)' },
        baseUrl: underIssuer(config.issuer, OPINSYS_SIMULATOR_PATH),
        organisation: 'testikunta.opinsys.fi',
        accounts: 'test',
      }),
      clientSecret: sharedSecret(secrets),
    },
  ];
}

/** The simulator, mounted at its path under the bridge's host (undefined when the test directory is off). */
export function bundledOpinsysSimulator(config: BridgeConfig, secrets: BridgeSecrets, users: TestUser[]): Middleware | undefined {
  if (!bundled(config)) return undefined;
  const simulator = createOpinsysSimulator({
    users,
    sharedSecret: sharedSecret(secrets),
    returnToHosts: [new URL(config.issuer).host],
    organisationDomain: 'testikunta.opinsys.fi',
    cookieKeys: secrets.cookieKeys,
    secureCookies: config.issuer.startsWith('https://'),
  });
  return mountAt(OPINSYS_SIMULATOR_PATH, simulator.middleware);
}
