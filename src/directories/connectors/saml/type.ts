import type { ConnectorOptions } from '../options.js';
import type { DirectoryDefinition } from '../../definition.js';
import type { DirectoryConnector } from '../types.js';
import { SamlConnector } from './connector.js';
import { SAML_DEFAULT_MAPPING } from './settings.js';
import { spEntityIdOf } from './sp-metadata.js';

type SamlDefinition = Extract<DirectoryDefinition, { type: 'saml' }>;

/** The SAML entry of the connector table (src/directories/connectors/index.ts). */
export const SAML_TYPE = {
  create(definition: SamlDefinition, _secret: string | undefined, options: ConnectorOptions): DirectoryConnector {
    if (!options.samlKeys) throw new Error(`directory ${definition.id}: the bridge has no SAML service-provider keys`);
    return new SamlConnector(definition, options.samlKeys, options);
  },
  defaultMapping: SAML_DEFAULT_MAPPING,
  /** The education provider configures their identity provider from our SP metadata. */
  setup(definition: SamlDefinition, callbackUrl: string, bridgeIssuer: string): Record<string, string> {
    const entityId = spEntityIdOf(bridgeIssuer, definition.id);
    return { spMetadataUrl: entityId, entityId, acsUrl: callbackUrl };
  },
};
