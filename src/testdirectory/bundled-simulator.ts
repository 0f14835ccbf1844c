import type { Middleware } from 'koa';
import type { BridgeConfig } from '../config/schema.js';
import type { BridgeSecrets } from '../config/secrets.js';
import type { TestUser } from './users.js';

/**
 * A directory simulator the bridge serves itself in the test environment, beside the bundled OIDC
 * test directory: its users are test accounts, and it shares a secret with the bridge.
 */
export interface BundledSimulator {
  /** Its directory id at the bridge. */
  id: string;
  /** Where it is served under the bridge's host. */
  path: string;
  /** The directory's settings besides id, type-independent fields and its address. */
  settings(baseUrl: string): Record<string, unknown>;
  /** The simulator's own request handling. */
  serve(options: { baseUrl: string; sharedSecret: string; users: TestUser[]; config: BridgeConfig; secrets: BridgeSecrets }): Middleware;
}
