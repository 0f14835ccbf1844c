import { resolveMapping, type AttributeMapping, type AttributeMappingInput } from './attributes.js';

/** How one directory's claims are read: its attribute names and the home organisation it stands for. */
export interface ClaimsProfile {
  mapping: AttributeMapping;
  originalIssuer: string;
  /**
   * What the directory may vouch for: school codes, school OIDs or education-provider OIDs. A school
   * outside it counts as unresolved (its claims are dropped). Undefined: no restriction configured.
   */
  schools?: ReadonlySet<string>;
  /** The services its users may reach (the education provider's restriction). Undefined: all. */
  allowedClients?: ReadonlySet<string>;
}

/** What of a directory's definition the claims step reads (the same for every directory type). */
export interface ClaimsSettings {
  attributeMapping?: AttributeMappingInput | undefined;
  originalIssuer?: string | undefined;
  schools?: ReadonlyArray<string | { id: string }> | undefined;
  allowedClients?: readonly string[] | undefined;
}

/**
 * The claims profile of a directory. `address` is its public address (the default original issuer);
 * `defaults` the attribute names its type usually sends, for attributes the definition does not map.
 */
export function claimsProfileOf(settings: ClaimsSettings, address: string, defaults?: Partial<AttributeMapping>): ClaimsProfile {
  const mapping = resolveMapping({ ...defaults, ...settings.attributeMapping });
  return {
    mapping,
    originalIssuer: settings.originalIssuer ?? address,
    ...(settings.schools ? { schools: new Set(settings.schools.map((school) => (typeof school === 'string' ? school : school.id))) } : {}),
    ...(settings.allowedClients ? { allowedClients: new Set(settings.allowedClients) } : {}),
  };
}
