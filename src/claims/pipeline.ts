import { createHmac } from 'node:crypto';
import type { SourceAttribute, SourceValues } from './attributes.js';
import { CLAIM, type ClaimName, type MpassClaims } from './claim-names.js';
import { learnerIdKind, type LearnerIdKind } from './formats.js';
import type { RoleVocabulary } from './roles.js';
import { alignedValue, VALIDATION_TABLE, valuesOf, type BlockReason, type SchoolFacts, type Status } from './validation-table.js';

export interface PipelineInput {
  directoryId: string;
  values: SourceValues;
  /** Registry facts for every school id the directory sent (undefined: unknown to the registry). */
  schools: ReadonlyMap<string, SchoolFacts | undefined>;
  roles: RoleVocabulary;
  /** Test learner numbers are accepted (for the client flagged to allow them; the test environment). */
  allowTestLearnerIds: boolean;
  /** The home organisation that vouched for the user (urn:mpass.id:originalIssuer). */
  originalIssuer: string;
  /** Keys urn:mpass.id:uid so it is opaque. */
  uidSalt: string;
}

/** One row's outcome, for logs and the attribute check page. Never carries values (personal data). */
export interface RuleReport {
  id: string;
  attribute: SourceAttribute;
  status: Status;
  perSchool?: Status[];
  effect: 'none' | 'blocked' | 'dropped' | 'delivered without';
  dropped: ClaimName[];
}

export type PipelineResult =
  | { ok: true; claims: MpassClaims; learnerIdKind: LearnerIdKind; report: RuleReport[] }
  | { ok: false; reason: BlockReason; report: RuleReport[] };

/** Stable, opaque user id derived from (directory, unique id); changes if the user moves directory. */
export function mpassUid(salt: string, directoryId: string, username: string): string {
  return `MPASSOID.${createHmac('sha256', salt).update(`uid\0${directoryId}\0${username}`).digest('hex').slice(0, 40)}`;
}

function pushUnique(claims: MpassClaims, name: ClaimName, value: string): void {
  const list = (claims[name] as string[] | undefined) ?? [];
  if (!list.includes(value)) list.push(value);
  claims[name] = list;
}

/**
 * Turns what a directory said into the MPASSid claims, enforcing the validation table: a pure
 * function of its input. Either the claims (every value valid) or the reason the login is blocked.
 */
export function runClaimsPipeline(input: PipelineInput): PipelineResult {
  const schoolIds = [...new Set(valuesOf(input.values, 'schoolIds') ?? [])];
  const ruleInput = { ...input, schoolIds };
  const globallyDropped = new Set<ClaimName>();
  const droppedForSchool = schoolIds.map(() => new Set<ClaimName>());
  const report: RuleReport[] = [];

  for (const rule of VALIDATION_TABLE) {
    const verdict = rule.check(ruleInput);
    const entry: RuleReport = { id: rule.id, attribute: rule.attribute, status: verdict.status, effect: 'none', dropped: [] };
    if (verdict.perSchool) entry.perSchool = verdict.perSchool;
    report.push(entry);
    if (verdict.status === 'ok') continue;
    const { onFailure } = rule;
    if (onFailure.kind === 'block') {
      entry.effect = 'blocked';
      const reason = rule.id === 'learnerId' && verdict.status === 'missing' ? 'learner_id_missing' : onFailure.reason;
      return { ok: false, reason, report };
    }
    if (onFailure.kind === 'deliver-without') {
      entry.effect = 'delivered without';
      continue;
    }
    entry.effect = 'dropped';
    entry.dropped = [...onFailure.claims];
    if (verdict.perSchool) {
      verdict.perSchool.forEach((status, i) => {
        if (status !== 'ok') for (const claim of onFailure.claims) droppedForSchool[i]!.add(claim);
      });
    } else {
      for (const claim of onFailure.claims) globallyDropped.add(claim);
    }
  }

  const first = (attribute: SourceAttribute): string | undefined => valuesOf(input.values, attribute)?.[0];
  const username = first('username')!;
  const learnerId = first('learnerId')!;
  const claims: MpassClaims = {
    [CLAIM.uid]: mpassUid(input.uidSalt, input.directoryId, username),
    [CLAIM.learnerId]: learnerId,
    [CLAIM.originalIssuer]: input.originalIssuer,
  };
  const given = first('firstName');
  const family = first('surname');
  const nickname = first('nickname');
  if (given) claims[CLAIM.givenName] = given;
  if (family) claims[CLAIM.familyName] = family;
  if (nickname) claims[CLAIM.nickname] = nickname;
  const level = first('groupLevels');
  if (level !== undefined && !globallyDropped.has(CLAIM.classLevel)) claims[CLAIM.classLevel] = String(Number(level));

  const groups = valuesOf(input.values, 'groups');
  const roles = valuesOf(input.values, 'roles');
  const charges = valuesOf(input.values, 'learningMaterialsCharges');
  const n = schoolIds.length;
  schoolIds.forEach((id, i) => {
    const facts = input.schools.get(id);
    if (!facts?.active) return;
    const allowed = (claim: ClaimName): boolean => !globallyDropped.has(claim) && !droppedForSchool[i]!.has(claim);
    if (allowed(CLAIM.schoolCode)) pushUnique(claims, CLAIM.schoolCode, facts.code);
    if (allowed(CLAIM.school)) pushUnique(claims, CLAIM.school, facts.name);
    if (allowed(CLAIM.schoolInfo)) {
      pushUnique(claims, CLAIM.schoolInfo, `${facts.code};${facts.name}`);
      pushUnique(claims, CLAIM.schoolInfo, `${facts.oid};${facts.name}`);
    }
    if (allowed(CLAIM.educationProviderId)) pushUnique(claims, CLAIM.educationProviderId, facts.providerOid);
    if (allowed(CLAIM.educationProvider)) pushUnique(claims, CLAIM.educationProvider, facts.providerName);
    if (allowed(CLAIM.educationProviderInfo)) pushUnique(claims, CLAIM.educationProviderInfo, `${facts.providerOid};${facts.providerName}`);
    const role = alignedValue(roles, n, i);
    const resolvedRole = role === undefined ? undefined : input.roles.resolve(role);
    if (resolvedRole && allowed(CLAIM.role)) {
      const group = alignedValue(groups, n, i, true) ?? '';
      pushUnique(claims, CLAIM.role, [facts.providerOid, facts.code, group, resolvedRole.text, resolvedRole.code, facts.oid, facts.officeOid ?? ''].join(';'));
    }
    const charge = alignedValue(charges, n, i);
    if (charge !== undefined && allowed(CLAIM.learningMaterialsCharge)) {
      pushUnique(claims, CLAIM.learningMaterialsCharge, `${charge};${facts.code}`);
      pushUnique(claims, CLAIM.learningMaterialsCharge, `${charge};${facts.oid}`);
    }
  });
  if (groups && groups.length > 0 && !globallyDropped.has(CLAIM.class)) claims[CLAIM.class] = [...new Set(groups)];

  return { ok: true, claims, learnerIdKind: learnerIdKind(learnerId)!, report };
}
