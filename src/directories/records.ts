import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuditLog, type AuditEntry } from '../lifecycle/audit-log.js';
import { type LifecycleRecord, LifecycleRecords } from '../lifecycle/records.js';
import { allDirectoryFields, CLEARABLE_FIELDS, directoryDefinitionSchema, endpointOf, type DirectoryDefinition } from './definition.js';
import type { DurableStore } from '../storage/types.js';
import type { AttributeCheckEvidence } from './evidence.js';
import { DIRECTORY_TRANSITIONS, type DirectoryAction, type DirectoryState, type DirectoryStatus } from './lifecycle.js';
import type { SealedSecret, SecretBox } from './secret-box.js';
import { selfAuditGaps, type SelfAudit } from './self-audit.js';

/**
 * The education providers' directories that operators manage at run time (the admin API and CLI),
 * kept in the durable store shared by every bridge instance and environment.
 *
 * Key layout (namespace `registry`):
 *   `directory:<id>`        the record (JSON), secret sealed
 *   `directories`           set of every id ever created
 *   `directories:revision`  changes on every write; instances reload when it differs from theirs
 *   `audit`                 the operators' audit log, shared with the services
 */

export { directoryDefinitionSchema, type DirectoryDefinition };

type Clearable = (typeof CLEARABLE_FIELDS)[number];

/**
 * A patch: every field but the id and the type may change (the id is in callback URLs registered at
 * the directory; another type is another directory); null removes an optional field (e.g.
 * `allowedClients: null` lifts the restriction). The result is checked as a whole definition.
 */
export const directoryPatchSchema = z
  .object({
    // Without their defaults: a field the patch leaves out keeps its value (a default would reset it,
    // and another type's default would add a field this directory's type does not have).
    ...(Object.fromEntries(
      Object.entries(allDirectoryFields)
        .filter(([key]) => key !== 'id' && key !== 'type')
        .map(([key, field]): [string, z.ZodType] => [key, field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : field]),
    ) as unknown as Omit<typeof allDirectoryFields, 'id' | 'type' | Clearable>),
    ...(Object.fromEntries(CLEARABLE_FIELDS.map((key) => [key, allDirectoryFields[key].unwrap().nullable()])) as {
      [K in Clearable]: z.ZodNullable<ReturnType<(typeof allDirectoryFields)[K]['unwrap']>>;
    }),
  })
  .partial()
  .strict();
export type DirectoryPatch = z.infer<typeof directoryPatchSchema>;

/** A secret given by value is sealed; a reference names an environment variable of the bridge processes. */
export type SecretInput = { value: string } | { env: string };
/**
 * `binding: 'id+issuer'`: sealed for the directory's id and issuer together (records sealed before
 * had only the id bound; they still open, and are re-sealed at their next update).
 */
export type StoredSecret = (SealedSecret & { binding?: 'id+issuer' }) | { kind: 'env'; name: string } | { kind: 'none' };

/**
 * Secrets by reference must be in variables of their own: an operator naming any variable could
 * send another secret of the process (SUBJECT_SALT, ...) to a token endpoint of their choosing.
 */
const ENV_PREFIX = 'MPASSID_DIRECTORY_SECRET_';
export const ENV_REFERENCE = /^MPASSID_DIRECTORY_SECRET_[A-Z0-9_]{1,100}$/;
export const ENV_REFERENCE_RULE = `an environment variable named ${ENV_PREFIX}<NAME> (upper-case letters, digits and _)`;

/**
 * What a sealed secret is bound to: it opens only for the same directory at the same issuer, so a
 * record edited in the store to point elsewhere cannot have it sent there.
 */
const sealingContext = (id: string, issuer: string): string => JSON.stringify(['mpassid-directory-secret', id, issuer]);

export interface DirectoryRecord extends DirectoryState, LifecycleRecord<DirectoryState> {
  definition: DirectoryDefinition;
  secret: StoredSecret;
  selfAudit?: SelfAudit;
  selfAuditUpdatedAt?: string;
  evidence: AttributeCheckEvidence[];
  createdAt: string;
  /** Stamped with the time of every change. */
  updatedAt: string;
}

export class DirectoryError extends Error {
  override readonly name = 'DirectoryError';
  constructor(
    readonly code: 'not_found' | 'conflict' | 'invalid_transition' | 'incomplete_self_audit' | 'no_evidence' | 'invalid_secret' | 'secret_required',
    message: string,
    readonly detail?: string[],
  ) {
    super(message);
  }
}

const EVIDENCE_LIMIT = 20;
const REVISION_KEY = 'directories:revision';

const stateOf = (record: DirectoryState): DirectoryState => ({
  status: record.status,
  ...(record.suspendedFrom ? { suspendedFrom: record.suspendedFrom } : {}),
});

/** Throws unless the directory may be approved: the self-audit complete and a passing attribute check, or a reasoned override. */
function admitApproval(record: DirectoryRecord, options: { reason?: string; withoutEvidence?: boolean }): void {
  const gaps = selfAuditGaps(record.selfAudit);
  if (gaps.length) throw new DirectoryError('incomplete_self_audit', 'the self-audit is not complete', gaps);
  const passed = record.evidence.some((e) => e.outcome === 'released');
  if (!passed && !options.withoutEvidence) {
    throw new DirectoryError('no_evidence', 'no attribute check of this directory has succeeded yet (approve withoutEvidence, with a reason, to override)');
  }
  if (!passed && !options.reason) throw new DirectoryError('no_evidence', 'approving without a successful attribute check needs a reason');
}

export class DirectoryRecords {
  private readonly audit: AuditLog;
  private readonly lifecycle: LifecycleRecords<DirectoryRecord, DirectoryState, DirectoryAction>;

  constructor(
    private readonly store: DurableStore,
    private readonly box: SecretBox,
    /** Ids taken by directories of the configuration file (and the bundled test directory). */
    private readonly reservedIds: ReadonlySet<string> = new Set(),
  ) {
    this.audit = new AuditLog(store);
    this.lifecycle = new LifecycleRecords<DirectoryRecord, DirectoryState, DirectoryAction>(this.audit, {
      transitions: DIRECTORY_TRANSITIONS,
      stateOf,
      auditSubject: (record) => ({ directoryId: record.definition.id }),
      save: (record, at) => this.save({ ...record, updatedAt: at }),
      refused: (reason) => new DirectoryError('invalid_transition', reason),
    });
  }

  /** Changes whenever any directory changes; undefined before the first change. */
  revision(): Promise<string | undefined> {
    return this.store.get<string>(REVISION_KEY);
  }

  async get(id: string): Promise<DirectoryRecord | undefined> {
    const record = await this.store.get<DirectoryRecord>(`directory:${id}`);
    return record && !record.deletedAt ? record : undefined;
  }

  async list(status?: DirectoryStatus): Promise<DirectoryRecord[]> {
    const ids = await this.store.members('directories');
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records
      .filter((r): r is DirectoryRecord => r !== undefined && (!status || r.status === status))
      .sort((a, b) => a.definition.id.localeCompare(b.definition.id));
  }

  /** The secret in clear, for the connector (undefined for a type without one). Throws DirectoryError when it cannot be had. */
  secretOf(record: DirectoryRecord, env: Record<string, string | undefined> = process.env): string | undefined {
    if (record.secret.kind === 'none') return undefined;
    if (record.secret.kind === 'env') {
      // Records written before the prefix rule could name any variable: never read those.
      if (!ENV_REFERENCE.test(record.secret.name))
        throw new DirectoryError('invalid_secret', `the client secret must be in ${ENV_REFERENCE_RULE}; give it again`);
      const value = env[record.secret.name];
      if (!value) throw new DirectoryError('invalid_secret', `the environment variable ${record.secret.name} is not set`);
      return value;
    }
    const { id } = record.definition;
    try {
      return this.box.open(record.secret, record.secret.binding ? sealingContext(id, endpointOf(record.definition)) : id);
    } catch (err) {
      throw new DirectoryError('invalid_secret', (err as Error).message);
    }
  }

  private storedSecret(id: string, issuer: string, input: SecretInput | undefined): StoredSecret {
    if (!input) return { kind: 'none' };
    if ('env' in input) {
      if (!ENV_REFERENCE.test(input.env)) throw new DirectoryError('invalid_secret', `clientSecretEnv: ${ENV_REFERENCE_RULE}`);
      return { kind: 'env', name: input.env };
    }
    return { ...this.box.seal(input.value, sealingContext(id, issuer)), binding: 'id+issuer' };
  }

  /** A secret sealed for the id only, sealed again for id and issuer (undefined: nothing to do or it does not open). */
  private rebound(record: DirectoryRecord): StoredSecret | undefined {
    if (record.secret.kind !== 'sealed' || record.secret.binding) return undefined;
    try {
      return this.storedSecret(record.definition.id, endpointOf(record.definition), { value: this.box.open(record.secret, record.definition.id) });
    } catch {
      return undefined;
    }
  }

  private async save(record: DirectoryRecord): Promise<void> {
    await this.store.put(`directory:${record.definition.id}`, record);
    await this.store.put(REVISION_KEY, randomUUID());
  }

  private async mutable(id: string): Promise<DirectoryRecord> {
    const record = await this.get(id);
    if (!record) throw new DirectoryError('not_found', 'no such directory');
    return record;
  }

  /** `secret`: the client or shared secret, for types that have one (undefined for SAML). */
  async create(definition: DirectoryDefinition, secret: SecretInput | undefined, operator: string): Promise<DirectoryRecord> {
    const id = definition.id;
    if (this.reservedIds.has(id)) throw new DirectoryError('conflict', 'a directory of the configuration file has this id');
    const existing = await this.store.get<DirectoryRecord>(`directory:${id}`);
    // A removed directory's id stays taken: its callback URL and audit trail belong to it.
    if (existing) throw new DirectoryError('conflict', existing.deletedAt ? 'a removed directory had this id' : 'a directory with this id exists');
    const now = new Date().toISOString();
    const record: DirectoryRecord = {
      definition,
      secret: this.storedSecret(id, endpointOf(definition), secret),
      status: 'draft',
      evidence: [],
      createdAt: now,
      updatedAt: now,
      history: [],
    };
    await this.store.addMember('directories', id);
    await this.lifecycle.commit(record, record, { operator, action: 'create', to: { status: 'draft' } });
    return (await this.get(id))!;
  }

  async update(id: string, patch: DirectoryPatch, secret: SecretInput | undefined, operator: string, reason?: string): Promise<AuditEntry> {
    const record = await this.mutable(id);
    const changed = Object.keys(patch).filter(
      (key) => JSON.stringify(patch[key as keyof DirectoryPatch]) !== JSON.stringify(record.definition[key as keyof DirectoryDefinition]),
    );
    if (secret) changed.push('clientSecret');
    const merged: Record<string, unknown> = { ...record.definition, ...patch };
    for (const [key, value] of Object.entries(patch)) if (value === null) delete merged[key];
    const definition = directoryDefinitionSchema.parse(merged);
    // The secret goes to the directory's address: a new one gets it only when it is given again.
    const address = endpointOf(definition);
    if (record.secret.kind !== 'none' && address !== endpointOf(record.definition) && !secret) {
      throw new DirectoryError('secret_required', 'a changed issuer needs the client secret again (clientSecret or clientSecretEnv)');
    }
    const stored = secret ? this.storedSecret(id, address, secret) : this.rebound(record);
    const next: DirectoryRecord = { ...record, definition, ...(stored ? { secret: stored } : {}) };
    return this.lifecycle.commit(record, next, { operator, action: 'update', changed, reason });
  }

  /** Removes a directory that is not in production (suspend it first); the record stays for the audit trail. */
  async remove(id: string, operator: string, reason?: string): Promise<AuditEntry> {
    const record = await this.mutable(id);
    if (record.status === 'approved') throw new DirectoryError('invalid_transition', 'an approved directory must be suspended before it is removed');
    return this.lifecycle.commit(record, { ...record, deletedAt: new Date().toISOString() }, { operator, action: 'remove', reason });
  }

  async saveSelfAudit(id: string, selfAudit: SelfAudit, operator: string): Promise<AuditEntry> {
    const record = await this.mutable(id);
    const gaps = selfAuditGaps(selfAudit);
    return this.lifecycle.commit(
      record,
      { ...record, selfAudit, selfAuditUpdatedAt: new Date().toISOString() },
      { operator, action: 'self-audit', detail: { complete: gaps.length === 0, gaps: gaps.length } },
    );
  }

  /**
   * Moves the directory along its lifecycle. Approval needs the self-audit complete and a passing
   * attribute check on record, unless the operator explicitly approves without one (with a reason).
   */
  async act(id: string, action: DirectoryAction, operator: string, options: { reason?: string; withoutEvidence?: boolean } = {}): Promise<AuditEntry> {
    const record = await this.mutable(id);
    const approvingWithoutEvidence = action === 'approve' && options.withoutEvidence;
    return this.lifecycle.act(
      record,
      action,
      { operator, reason: options.reason, ...(approvingWithoutEvidence ? { detail: { withoutEvidence: true } } : {}) },
      action === 'approve' ? () => admitApproval(record, options) : undefined,
    );
  }

  /** Operator actions about a directory that change no record (e.g. issuing a check link). */
  auditOnly(entry: Omit<AuditEntry, 'at'>): Promise<AuditEntry> {
    return this.audit.append(entry);
  }

  /** Stores the result of an attribute check (newest last, the latest few kept). */
  async recordEvidence(id: string, evidence: AttributeCheckEvidence): Promise<void> {
    const record = await this.mutable(id);
    await this.lifecycle.commit(
      record,
      { ...record, evidence: [...record.evidence, evidence].slice(-EVIDENCE_LIMIT) },
      { operator: evidence.by, action: 'attribute-check', detail: { evidenceId: evidence.id, outcome: evidence.outcome, environment: evidence.environment } },
    );
  }
}
