import type { AttributeMapping } from '../../../claims/attributes.js';
import type { ConnectorOptions } from '../options.js';
import type { DirectoryConnector } from '../types.js';
import { WilmaConnector } from './connector.js';
import { wilmaLoginUrl, wilmaUserDataUrl, type WilmaDirectorySettings } from './settings.js';

/**
 * The Wilma entry of the directory types (src/directories/connectors/index.ts): the connector, the names the
 * default userAttributes give the legacy answer's fields, and what the Wilma administrator sets up.
 */
export const WILMA_TYPE = {
  create(definition: WilmaDirectorySettings, secret: string | undefined, options: ConnectorOptions): DirectoryConnector {
    if (!secret) throw new Error(`directory ${definition.id}: its shared secret is missing`);
    return new WilmaConnector(definition, secret, options);
  },
  // Only what the legacy answer holds; learner number, class level, charges and nickname keep the
  // default names (learner_id, group_levels, ...), so a userAttributes entry of that name is enough.
  defaultMapping: {
    username: ['cryptid'],
    firstName: ['first_name'],
    surname: ['last_name'],
    schoolIds: ['school'],
    groups: ['group'],
    roles: ['role'],
  } satisfies Partial<AttributeMapping>,
  setup(definition: WilmaDirectorySettings, callbackUrl: string): Record<string, string> {
    return {
      returnUrl: `${callbackUrl} (Wilma sends the user back here, to redirectto, which begins with it)`,
      loginUrl: `${wilmaLoginUrl(definition)} (the bridge sends users here: redirectto, forceauth, h)`,
      userDataUrl: `${wilmaUserDataUrl(definition)} (the bridge reads the user's data here: username, nonce, h)`,
      sharedSecret:
        'one HMAC-SHA256 secret for this Wilma, at least 32 random characters, set at Wilma and handed to the MPASSid operators over a secure channel (they give it with --client-secret-stdin; the bridge keeps it sealed and never shows it)',
      uniqueId: `the user attribute ${definition.uniqueIdAttribute} must be unique and never reused`,
    };
  },
};
