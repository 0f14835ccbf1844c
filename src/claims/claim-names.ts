/** The claim names services receive (spec §7): OIDC names for the two names, URNs for the rest. */
export const CLAIM = {
  givenName: 'given_name',
  familyName: 'family_name',
  nickname: 'urn:mpass.id:nickname',
  uid: 'urn:mpass.id:uid',
  learnerId: 'urn:oid:1.3.6.1.4.1.16161.1.1.27',
  classLevel: 'urn:mpass.id:classLevel',
  schoolInfo: 'urn:mpass.id:schoolInfo',
  educationProviderInfo: 'urn:mpass.id:educationProviderInfo',
  role: 'urn:mpass.id:role',
  learningMaterialsCharge: 'urn:mpass.id:learningMaterialsCharge',
  originalIssuer: 'urn:mpass.id:originalIssuer',
  schoolCode: 'urn:mpass.id:schoolCode',
  school: 'urn:mpass.id:school',
  class: 'urn:mpass.id:class',
  educationProviderId: 'urn:mpass.id:educationProviderId',
  educationProvider: 'urn:mpass.id:educationProvider',
} as const;

type ClaimKey = keyof typeof CLAIM;
export type ClaimName = (typeof CLAIM)[ClaimKey];

/** Every MPASSid claim, released under `openid profile` (what existing MPASSid services request). */
export const PROFILE_CLAIMS: readonly ClaimName[] = Object.values(CLAIM);

/** Claims whose value is a JSON array; the others are single strings. */
export const MULTI_VALUED: ReadonlySet<ClaimName> = new Set([
  CLAIM.schoolInfo,
  CLAIM.educationProviderInfo,
  CLAIM.role,
  CLAIM.learningMaterialsCharge,
  CLAIM.schoolCode,
  CLAIM.school,
  CLAIM.class,
  CLAIM.educationProviderId,
  CLAIM.educationProvider,
]);

export type MpassClaims = Partial<Record<ClaimName, string | string[]>>;
