import type { OrganisationRegistry } from '../organisations/index.js';
import type { Logger } from '../observability/logger.js';
import type { UpstreamIdentity } from '../upstream/types.js';
import { mapAttributes, type AttributeMapping, type SourceValues } from './attributes.js';
import { runClaimsPipeline, type PipelineResult } from './pipeline.js';
import type { RoleVocabulary } from './roles.js';
import { lookupSchools } from './school-facts.js';
import { valuesOf } from './validation-table.js';

/** How one directory's claims are read: its claim names and the home organisation it stands for. */
export interface UpstreamClaimsProfile {
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

  async evaluate(identity: UpstreamIdentity, profile: UpstreamClaimsProfile): Promise<PipelineResult> {
    return (await this.explain(identity, profile)).result;
  }

  /** The evaluation together with the source values it was made from (for the attribute check page). */
  async explain(identity: UpstreamIdentity, profile: UpstreamClaimsProfile): Promise<{ values: SourceValues; result: PipelineResult }> {
    const values = mapAttributes({ ...identity.attributes, sub: identity.subject }, profile.mapping);
    const schools = await lookupSchools(this.registry, valuesOf(values, 'schoolIds') ?? [], this.logger);
    if (profile.schools) {
      for (const [id, facts] of schools) {
        if (!facts) continue;
        const owned = [facts.code, facts.oid, facts.providerOid, facts.officeOid].some((key) => key !== undefined && profile.schools!.has(key));
        if (!owned) {
          // School codes are organisation data, not personal data: the operators need to see which.
          this.logger.warn({ upstreamId: identity.upstreamId, schoolCode: facts.code }, 'directory asserted a school it is not registered for');
          schools.set(id, undefined);
        }
      }
    }
    const result = runClaimsPipeline({
      upstreamId: identity.upstreamId,
      values,
      schools,
      roles: this.roles,
      allowTestLearnerIds: true,
      originalIssuer: profile.originalIssuer,
      uidSalt: this.uidSalt,
    });
    const failed = result.report.filter((r) => r.status !== 'ok').map((r) => `${r.id}:${r.status}:${r.effect}`);
    // Rule ids and outcomes only: the values are personal data.
    this.logger.info({ upstreamId: identity.upstreamId, outcome: result.ok ? 'released' : result.reason, failed }, 'claims evaluated');
    return { values, result };
  }
}
