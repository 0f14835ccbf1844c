import { z } from 'zod';
import { attributeMappingSchema } from '../claims/attributes.js';
import { DIRECTORY_ACCOUNTS, directorySchoolSchema, localized } from '../config/common.js';
import { oidcSettings } from './connectors/oidc/settings.js';
import { checkWilmaSettings, wilmaSettings } from './connectors/wilma/settings.js';
import { opinsysSettings } from './connectors/opinsys/settings.js';
import { refineSamlDefinition, samlSettings } from './connectors/saml/settings.js';
import { entityIdOf } from './connectors/saml/metadata.js';

/**
 * What describes a school directory, whether in the configuration file or through the admin API:
 * the fields every directory has, and the settings of its type (a discriminated union on `type`, so
 * each type's settings are checked with their paths). A type's settings live beside its connector.
 */

export const commonDirectoryFields = {
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes')
    .describe('Stable id: used in /upstream/<id>/callback and in acr_values urn:mpass.id:authnsource:<id>'),
  displayName: localized.describe('Name shown in the school chooser'),
  logoUri: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional()
    .describe('Logo shown next to the name in the chooser (https in production)'),
  provider: z
    .object({
      name: localized.describe('Name of the education provider (municipality, school owner)'),
      oid: z
        .string()
        .regex(/^1\.2\.246\.562\.(10|99)\.\d{11,12}$/, 'an organisation OID')
        .optional()
        .describe('Its organisation OID'),
    })
    .strict()
    .optional()
    .describe('The education provider the directory belongs to; the chooser groups directories by it'),
  attributeMapping: attributeMappingSchema.optional(),
  originalIssuer: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe('Value of urn:mpass.id:originalIssuer for users of this directory (default: its address, see endpointOf)'),
  schools: z
    .array(directorySchoolSchema)
    .min(1)
    .max(20_000)
    .optional()
    .describe(
      'The schools this directory may vouch for (school codes, school or education-provider OIDs, optionally with names); others are treated as unresolved',
    ),
  allowedClients: z
    .array(z.string().min(1).max(500))
    .max(10_000)
    .optional()
    .describe("The services this directory's users may reach (the education provider's restriction); others get access_denied"),
  accounts: z
    .enum(DIRECTORY_ACCOUNTS)
    .default('real')
    .describe(
      "Whose accounts the directory holds: `real` pupils and staff (offered only in production, and only once approved), `test` accounts only (offered in the test environment), `demo` accounts (offered in the demo environment). A real directory is reachable from the test environment only through the operator's attribute check",
    ),
};

/** The settings of each directory type (its `type` literal included). */
export const TYPE_SETTINGS = [oidcSettings, opinsysSettings, wilmaSettings, samlSettings] as const;

/** Fields a patch may clear with null (each is optional in a definition). */
export const CLEARABLE_FIELDS = ['logoUri', 'provider', 'attributeMapping', 'originalIssuer', 'schools', 'allowedClients'] as const;

/** A directory without `type` is an OpenID Connect one (as every directory was before the other types). */
const defaultType = (value: unknown): unknown =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { type?: unknown }).type === undefined ? { ...value, type: 'oidc' } : value;

export const directoryDefinitionSchema = z.preprocess(
  defaultType,
  z.discriminatedUnion('type', [
    z.object({ ...commonDirectoryFields, ...oidcSettings }).strict(),
    z
      .object({ ...commonDirectoryFields, ...wilmaSettings })
      .strict()
      .superRefine(checkWilmaSettings),
    z.object({ ...commonDirectoryFields, ...opinsysSettings }).strict(),
    z
      .object({ ...commonDirectoryFields, ...samlSettings })
      .strict()
      .superRefine(refineSamlDefinition),
  ]),
);
export type DirectoryDefinition = z.infer<typeof directoryDefinitionSchema>;
export type DirectoryType = DirectoryDefinition['type'];

/** A directory of the configuration file: a definition with its secret and the old test flag. */
const fileOnlyFields = {
  clientSecret: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The directory's client secret (OIDC) or shared secret (env UPSTREAM_<ID>_CLIENT_SECRET overrides; for the bundled test directory it is generated)",
    ),
  testOnly: z.boolean().default(false).describe('Same as `accounts: "test"`: a directory of test accounts, offered only in the test environment'),
};

export const configuredDirectorySchema = z.preprocess(
  defaultType,
  z.discriminatedUnion('type', [
    z.object({ ...commonDirectoryFields, ...oidcSettings, ...fileOnlyFields }).strict(),
    z
      .object({ ...commonDirectoryFields, ...wilmaSettings, ...fileOnlyFields })
      .strict()
      .superRefine(checkWilmaSettings),
    z.object({ ...commonDirectoryFields, ...opinsysSettings, ...fileOnlyFields }).strict(),
    z
      .object({ ...commonDirectoryFields, ...samlSettings, ...fileOnlyFields })
      .strict()
      .superRefine(refineSamlDefinition),
  ]),
);
export type ConfiguredDirectory = z.infer<typeof configuredDirectorySchema>;

/** Every field of every type, for patches (a patch is checked again as a whole definition). */
export const allDirectoryFields = { ...commonDirectoryFields, ...Object.assign({}, ...TYPE_SETTINGS) } as typeof commonDirectoryFields &
  Omit<AllOf<(typeof TYPE_SETTINGS)[number]>, 'type'> & { type: (typeof TYPE_SETTINGS)[number]['type'] };

/** Every member of a union at once (the fields of every type together, for patches). */
type AllOf<U> = (U extends unknown ? (all: U) => void : never) extends (all: infer I) => void ? I : never;

/**
 * The directory's public address, as operators and health checks know it: an OIDC issuer, a Wilma
 * or Opinsys base URL, a SAML identity provider's metadata URL or entity id.
 */
export function endpointOf(definition: DirectoryDefinition): string {
  switch (definition.type) {
    case 'oidc':
      return definition.issuer;
    case 'wilma':
      return definition.baseUrl;
    case 'opinsys':
      return definition.baseUrl;
    case 'saml':
      // Its metadata URL, else the entity id (given, or read from the inline metadata).
      return definition.metadataUrl ?? definition.idpEntityId ?? entityIdOf(definition.metadata ?? '') ?? `saml:${definition.id}`;
  }
}

/** Types whose directory has no client or shared secret (a SAML identity provider signs with its own key). */
const SECRETLESS_TYPES: ReadonlySet<string> = new Set(['saml']);

export function typeNeedsSecret(type: DirectoryType): boolean {
  return !SECRETLESS_TYPES.has(type);
}

/** Settings that are addresses the bridge calls (https in production), whatever the type. */
export const ADDRESS_FIELDS = ['issuer', 'baseUrl', 'userDataUrl', 'metadataUrl', 'logoUri'] as const;
