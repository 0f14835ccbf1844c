import type { SourceAttribute, SourceValues } from '../claims/attributes.js';
import { SOURCE_ATTRIBUTES } from '../claims/attributes.js';
import { CLAIM, PROFILE_CLAIMS, type ClaimName } from '../claims/claim-names.js';
import type { PipelineResult } from '../claims/pipeline.js';
import type { BlockReason, Status } from '../claims/validation-table.js';
import type { Environment } from '../config/common.js';

/**
 * The result of one attribute check of a directory, kept on the directory as evidence for its
 * approval. Statuses and rule ids only: the values (personal data, even of a test account) are shown
 * on the page once and never stored.
 */
type AttributePresence = 'present' | 'missing' | 'malformed';
type ClaimStatus = 'ok' | 'missing' | 'invalid' | 'not-released';

export interface AttributeRow {
  name: SourceAttribute;
  status: AttributePresence;
  /** How many values the directory sent. */
  count: number;
}

export interface ClaimRow {
  name: ClaimName;
  status: ClaimStatus;
  /** The validation rule that withheld the claim. */
  rule?: string;
}

export interface AttributeCheckEvidence {
  id: string;
  at: string;
  /** `check-link:<id>`: whoever used the check link (the operator or the school's administrator). */
  by: string;
  /** The operator who issued that link. */
  linkIssuedBy: string;
  environment: Environment;
  /** released: claims would be released; blocked: the table blocks this user; failed: the login at the directory failed. */
  outcome: 'released' | 'blocked' | 'failed';
  blockReason?: BlockReason;
  /** The directory failure code when the outcome is failed. */
  error?: string;
  attributes: AttributeRow[];
  claims: ClaimRow[];
  rules: Array<{ id: string; status: Status; effect: string }>;
}

/** The source attribute each claim is made from (originalIssuer comes from the directory's registration). */
const CLAIM_SOURCE: Record<ClaimName, SourceAttribute | undefined> = {
  [CLAIM.givenName]: 'firstName',
  [CLAIM.familyName]: 'surname',
  [CLAIM.nickname]: 'nickname',
  [CLAIM.uid]: 'username',
  [CLAIM.learnerId]: 'learnerId',
  [CLAIM.classLevel]: 'groupLevels',
  [CLAIM.schoolInfo]: 'schoolIds',
  [CLAIM.educationProviderInfo]: 'schoolIds',
  [CLAIM.role]: 'roles',
  [CLAIM.learningMaterialsCharge]: 'learningMaterialsCharges',
  [CLAIM.originalIssuer]: undefined,
  [CLAIM.schoolCode]: 'schoolIds',
  [CLAIM.school]: 'schoolIds',
  [CLAIM.class]: 'groups',
  [CLAIM.educationProviderId]: 'schoolIds',
  [CLAIM.educationProvider]: 'schoolIds',
};

export function attributeRows(values: SourceValues): AttributeRow[] {
  return SOURCE_ATTRIBUTES.map((name) => {
    const value = values[name];
    if (value === 'malformed') return { name, status: 'malformed', count: 0 };
    if (!value || value.length === 0) return { name, status: 'missing', count: 0 };
    return { name, status: 'present', count: value.length };
  });
}

/** Every MPASSid claim with whether it would be released, and if not, which rule withheld it. */
export function claimRows(values: SourceValues, result: PipelineResult): ClaimRow[] {
  if (!result.ok) {
    const blocking = result.report.find((r) => r.effect === 'blocked');
    return PROFILE_CLAIMS.map((name) => ({ name, status: 'not-released', ...(blocking ? { rule: blocking.id } : {}) }));
  }
  return PROFILE_CLAIMS.map((name): ClaimRow => {
    if (result.claims[name] !== undefined) return { name, status: 'ok' };
    const dropping = result.report.find((r) => r.effect === 'dropped' && r.dropped.includes(name) && r.status !== 'ok');
    if (dropping) return { name, status: dropping.status === 'missing' ? 'missing' : 'invalid', rule: dropping.id };
    const source = CLAIM_SOURCE[name];
    const rule = result.report.find((r) => r.attribute === source && r.status !== 'ok');
    if (rule) return { name, status: rule.status === 'missing' ? 'missing' : 'invalid', rule: rule.id };
    // Present and valid, but nothing to release for it (e.g. school claims when no school is active).
    const presence = source ? values[source] : undefined;
    return {
      name,
      status: presence === undefined || presence === 'malformed' || presence.length === 0 ? 'missing' : 'invalid',
      ...(source ? { rule: source } : {}),
    };
  });
}
