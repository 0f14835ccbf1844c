import type { AttributeMapping } from '../../../claims/attributes.js';
import type { ConnectorOptions } from '../options.js';
import { OpinsysConnector, type OpinsysDirectorySettings } from './connector.js';

/**
 * The claim names an Opinsys JWT carries for each source attribute. Documented: `first_name`,
 * `last_name`, `user_type` (student, teacher, staff, …) and `id` (the unique id, mapped as `sub`
 * through uniqueIdClaim). MPASSid's extended set is not public: the names below (learner_id,
 * school_codes, groups, group_levels, roles, learning_materials_charges, nickname) are the ones the
 * bundled simulator sends; a tenant that names them otherwise sets attributeMapping. `school_id` is
 * Puavo's own id of the school, not a school code, so it is not read as one unless mapped.
 */
const OPINSYS_DEFAULT_MAPPING: Partial<AttributeMapping> = {
  firstName: ['first_name'],
  surname: ['last_name'],
  roles: ['roles', 'user_type'],
};

export const opinsysType = {
  create(definition: OpinsysDirectorySettings, secret: string | undefined, options: ConnectorOptions): OpinsysConnector {
    if (!secret) throw new Error(`directory ${definition.id}: its shared secret is missing`);
    return new OpinsysConnector(definition, secret, options);
  },
  defaultMapping: OPINSYS_DEFAULT_MAPPING,
  /**
   * What the education provider asks Opinsys support for: a shared secret for our host (the
   * `return_to` host must be it) and, since one bridge serves many tenants with their own secrets,
   * this directory's path prefix.
   */
  setup(_definition: { id: string }, callbackUrl: string): Record<string, string> {
    const callback = new URL(callbackUrl);
    return {
      host: callback.host,
      pathPrefix: callback.pathname,
      returnTo: callbackUrl,
      sharedSecret: 'issued by Opinsys support for this host and path; operators store it as the clientSecret',
    };
  },
};
