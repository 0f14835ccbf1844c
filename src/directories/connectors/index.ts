import type { AttributeMapping } from '../../claims/attributes.js';
import { claimsProfileOf, type ClaimsProfile } from '../../claims/profile.js';
import type { DirectoryAccounts } from '../../config/common.js';
import type { ConnectorOptions } from './options.js';
import { OidcConnector } from './oidc/connector.js';
import { WILMA_TYPE } from './wilma/type.js';
import { opinsysType } from './opinsys/type.js';
import { SAML_TYPE } from './saml/type.js';
import { endpointOf, type DirectoryDefinition, type DirectoryType } from '../definition.js';
import type { DirectoryConnector, DirectoryListing } from './types.js';

/**
 * The directory types: `type → create()`, with the attribute names each type usually sends (used
 * for attributes a definition does not map). Adding a type: its settings beside its connector, a
 * member of the union in definition.ts, and an entry here.
 */
interface ConnectorType<D extends DirectoryDefinition> {
  create(definition: D, secret: string | undefined, options: ConnectorOptions): DirectoryConnector;
  defaultMapping?: Partial<AttributeMapping>;
  /**
   * What the education provider configures on their side, by name (e.g. the bridge's SAML metadata
   * URL, the return URL for Wilma), given the directory's callback URL; shown by `directory show`.
   * Without it: the callback URL as the redirect URI to register.
   */
  setup?(definition: D, callbackUrl: string, bridgeIssuer: string): Record<string, string>;
}

type ConnectorTypes = { [T in DirectoryType]: ConnectorType<Extract<DirectoryDefinition, { type: T }>> };

const CONNECTOR_TYPES: ConnectorTypes = {
  oidc: { create: (definition, secret, options) => new OidcConnector(definition, required(secret, definition.id), options) },
  wilma: WILMA_TYPE,
  opinsys: opinsysType,
  saml: SAML_TYPE,
};

function required(secret: string | undefined, id: string): string {
  if (!secret) throw new Error(`directory ${id}: its secret is missing`);
  return secret;
}

/** One school directory as the bridge uses it: how it is listed, how its claims are read, its protocol. */
export interface Directory {
  readonly id: string;
  readonly displayName: DirectoryListing['displayName'];
  /** Whose accounts it holds: decides which environment offers it (see usableIn). */
  readonly accounts: DirectoryAccounts;
  readonly listing: DirectoryListing;
  readonly profile: ClaimsProfile;
  readonly connector: DirectoryConnector;
}

/** What the education provider configures at their directory for the bridge. */
export function setupOf(definition: DirectoryDefinition, bridgeIssuer: string): Record<string, string> {
  const type = CONNECTOR_TYPES[definition.type] as ConnectorType<DirectoryDefinition>;
  const callbackUrl = `${bridgeIssuer.replace(/\/+$/, '')}/upstream/${definition.id}/callback`;
  return type.setup?.(definition, callbackUrl, bridgeIssuer) ?? { redirectUri: callbackUrl };
}

/** Builds a directory from its definition (of any type) and its secret. */
export function openDirectory(definition: DirectoryDefinition, secret: string | undefined, options: ConnectorOptions): Directory {
  const type = CONNECTOR_TYPES[definition.type] as ConnectorType<DirectoryDefinition>;
  const address = endpointOf(definition);
  const schools = (definition.schools ?? []).map((school) => (typeof school === 'string' ? { id: school } : school));
  return {
    id: definition.id,
    displayName: definition.displayName,
    accounts: definition.accounts,
    listing: {
      id: definition.id,
      displayName: definition.displayName,
      issuer: address,
      schools,
      ...(definition.logoUri ? { logoUri: definition.logoUri } : {}),
      ...(definition.provider ? { provider: definition.provider } : {}),
    },
    profile: claimsProfileOf(definition, address, type.defaultMapping),
    connector: type.create(definition, secret, options),
  };
}
