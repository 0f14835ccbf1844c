import type { ClientMetadata } from 'oidc-provider';
import { PROFILE_CLAIMS } from '../claims/claim-names.js';
import { ConfigError } from '../config/load.js';
import type { BridgeConfig } from '../config/schema.js';
import type { StaticClientPolicy } from './registry.js';

/** The services of the configuration file: what oidc-provider knows of each, and what the bridge releases to it. */
export interface ConfiguredServices {
  clients: ClientMetadata[];
  policies: Array<[string, StaticClientPolicy]>;
}

/**
 * Splits each configured service into its client metadata and its release policy. The file's
 * loader checks the shape; the claim names are checked here, against the claims the bridge releases.
 * Throws ConfigError with the paths of the file.
 */
export function configuredServices(config: BridgeConfig): ConfiguredServices {
  const known = new Set<string>(PROFILE_CLAIMS);
  const problems = config.clients.flatMap((client, index) =>
    (client.releasedClaims ?? [])
      .filter((claim) => !known.has(claim))
      .map((claim) => `clients.${index}.releasedClaims: "${claim}" is not a claim the bridge releases`),
  );
  if (problems.length) throw new ConfigError(problems);
  return {
    clients: config.clients.map(({ allowTestLearnerIds: _flag, releasedClaims: _claims, ...metadata }) => ({ ...metadata })),
    policies: config.clients.map((c) => [c.client_id, { allowTestLearnerIds: c.allowTestLearnerIds, releasedClaims: c.releasedClaims }]),
  };
}
