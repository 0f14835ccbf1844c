import { z } from 'zod';

/**
 * The settings of a SAML 2.0 directory (AD FS, Entra ID, Google Workspace, Shibboleth,
 * SimpleSAMLphp): the bridge is its service provider. The identity provider is described by its
 * metadata, from a URL (refreshed) or given inline.
 */
export const samlSettings = {
  type: z.literal('saml').describe('SAML 2.0 identity provider (the bridge is its service provider)'),
  metadataUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional()
    .describe("URL of the identity provider's SAML metadata (https in production); read again every metadataRefreshSeconds. Give this or `metadata`"),
  metadata: z
    .string()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe("The identity provider's SAML metadata itself (XML), for providers that hand it over as a file. Give this or `metadataUrl`"),
  idpEntityId: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe('Entity id of the identity provider; needed when the metadata describes several (an EntitiesDescriptor)'),
  signAuthnRequests: z.boolean().default(true).describe('Sign AuthnRequests with the bridge SP signing key (AD FS: SignedSamlRequestsRequired)'),
  requireEncryptedAssertions: z
    .boolean()
    .default(false)
    .describe('Refuse assertions that are not encrypted to the bridge SP encryption key (AD FS: EncryptClaims)'),
  nameIdFormat: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe('NameIDPolicy Format asked for in AuthnRequests (default: none asked, the identity provider chooses)'),
  uniqueIdAttribute: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe("The attribute holding the user's unique, never reused id (AD FS as MPASSid configures it: mpassUserIdentity); default: the NameID"),
  metadataRefreshSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600)
    .describe('How often metadata from metadataUrl is read again (certificate rollover); a failed read keeps the last valid metadata until its validUntil'),
};

/** Exactly one source of metadata: checked on the whole definition (see definition.ts). */
function samlMetadataSourceProblem(definition: { metadataUrl?: string | undefined; metadata?: string | undefined }): string | undefined {
  if (definition.metadataUrl && definition.metadata) return 'give metadataUrl or metadata, not both';
  if (!definition.metadataUrl && !definition.metadata) return 'metadataUrl or metadata: required';
  return undefined;
}

/** The zod refinement the SAML member of the directory unions carries. */
export function refineSamlDefinition(definition: { metadataUrl?: string | undefined; metadata?: string | undefined }, ctx: z.RefinementCtx): void {
  const problem = samlMetadataSourceProblem(definition);
  if (problem) ctx.addIssue({ code: 'custom', path: [definition.metadata ? 'metadata' : 'metadataUrl'], message: problem });
}

/**
 * The attribute names of SAML identity providers as MPASSid configures them: AD FS (`mpass…`) first,
 * Google Workspace's names as alternatives (first present wins). `username` keeps the default
 * (`sub`: the directory's unique id, the NameID or `uniqueIdAttribute`).
 */
export const SAML_DEFAULT_MAPPING = {
  firstName: ['mpassGivenName', 'firstName'],
  surname: ['mpassSurname', 'surname'],
  nickname: ['mpassNickName', 'nickName'],
  learnerId: ['mpassLearnerId', 'learnerId'],
  schoolIds: ['mpassSchoolCode', 'schoolCode'],
  groups: ['mpassClassCode', 'class'],
  groupLevels: ['mpassClassLevel', 'classLevel'],
  roles: ['mpassUserRole', 'userRole'],
  learningMaterialsCharges: ['mpassLearningMaterialsCharge', 'learningMaterialsCharge'],
};
