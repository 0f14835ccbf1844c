import type { OrganisationRegistry } from '../organisations/index.js';
import type { Logger } from '../observability/logger.js';
import type { DirectoryIdentity } from '../identity/directory-identity.js';
import { mapAttributes, type SourceValues } from './attributes.js';
import type { ClaimsProfile } from './profile.js';
import { runClaimsPipeline, type PipelineResult } from './pipeline.js';
import type { RoleVocabulary } from './roles.js';
import { lookupSchools } from './school-facts.js';
import { valuesOf } from './validation-table.js';

export type { ClaimsProfile };

/**
 * The claims step of a login: map → look the schools up → run the validation table. Test learner
 * numbers are accepted here and recorded, and each service's own flag is checked when it is about to
 * receive them (one SSO session can serve several services).
 */
export class ClaimsEvaluator {
  constructor(
    private readonly registry: OrganisationRegistry,
    private readonly roles: RoleVocabulary,
    private readonly uidSalt: string,
    private readonly logger: Logger,
  ) {}

  async evaluate(identity: DirectoryIdentity, profile: ClaimsProfile): Promise<PipelineResult> {
    return (await this.explain(identity, profile)).result;
  }

  /** The evaluation together with the source values it was made from (for the attribute check page). */
  async explain(identity: DirectoryIdentity, profile: ClaimsProfile): Promise<{ values: SourceValues; result: PipelineResult }> {
    const values = mapAttributes({ ...identity.attributes, sub: identity.subject }, profile.mapping);
    const schools = await lookupSchools(this.registry, valuesOf(values, 'schoolIds') ?? [], this.logger);
    if (profile.schools) {
      for (const [id, facts] of schools) {
        if (!facts) continue;
        const owned = [facts.code, facts.oid, facts.providerOid, facts.officeOid].some((key) => key !== undefined && profile.schools!.has(key));
        if (!owned) {
          // School codes are organisation data, not personal data: the operators need to see which.
          this.logger.warn({ directoryId: identity.directoryId, schoolCode: facts.code }, 'directory asserted a school it is not registered for');
          schools.set(id, undefined);
        }
      }
    }
    const result = runClaimsPipeline({
      directoryId: identity.directoryId,
      values,
      schools,
      roles: this.roles,
      allowTestLearnerIds: true,
      originalIssuer: profile.originalIssuer,
      uidSalt: this.uidSalt,
    });
    const failed = result.report.filter((r) => r.status !== 'ok').map((r) => `${r.id}:${r.status}:${r.effect}`);
    // Rule ids and outcomes only: the values are personal data.
    this.logger.info({ directoryId: identity.directoryId, outcome: result.ok ? 'released' : result.reason, failed }, 'claims evaluated');
    return { values, result };
  }
}
