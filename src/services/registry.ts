import { AsyncLocalStorage } from 'node:async_hooks';
import type { Environment } from '../config/common.js';
import { AuditLog, type AuditEntry, type AuditPage, type AuditQuery, type AuditVerification } from '../lifecycle/audit-log.js';
import { type LifecycleRecord, LifecycleRecords, type TransitionTable } from '../lifecycle/records.js';
import { metadataDiff, redactMetadata, type Metadata } from './metadata-review.js';
import type { Adapter, DurableStore } from '../storage/types.js';

/**
 * What the operators decide about each service, kept apart from its OIDC metadata (which the
 * service itself manages through RFC 7592). Nothing here is settable by the service.
 *
 * Key layout in the DurableStore (namespace `registry`):
 *   `client:<client_id>`  the lifecycle record (JSON); every client the provider stores gets one
 *                         (see `tracking()`), and a client without one is allowed nowhere
 *   `clients`             set of every registered client_id (for listing)
 *   `audit`               append-only list of operator actions (RPUSH / LRANGE)
 *
 * Updates are read-modify-write of one record. Operators acting on the same service at the same
 * instant could overwrite each other's change; the audit log still records both actions.
 */

type ClientStatus = 'pending' | 'approved' | 'rejected';
/** The listing state: `suspended` overrides the review status while it lasts. */
export type ClientState = ClientStatus | 'suspended';

export interface OperatorSettings {
  /** Test learner numbers (1.2.246.562.98.*) may be released to it. */
  allowTestLearnerIds: boolean;
  /** MPASSid claims the service may receive; null: every profile claim. */
  releasedClaims: string[] | null;
  /** Refresh tokens may be allowed for it (an RFC 7592 update may then add the grant type). */
  refreshTokens: boolean;
  /**
   * The service may use `subject_type: public` (the same `sub` as every other such service): only
   * operators grant it, since it lets services correlate a child.
   */
  publicSubject: boolean;
}

/** The part of a lifecycle record an action changes (what the audit log shows before → after). */
export interface LifecycleView {
  status: ClientStatus;
  suspended: boolean;
  publishedToDemo: boolean;
  settings: OperatorSettings;
}

export interface ClientLifecycle extends LifecycleView, LifecycleRecord<LifecycleView> {
  clientId: string;
  /** Statically configured (config.clients): approved, not managed through the admin API. */
  static: boolean;
  registeredAt?: string;
  /**
   * Set when the service is suspended or rejected: every token it was issued up to this second
   * (epoch seconds) is revoked for good, also after it is reinstated.
   */
  tokensRevokedBefore?: number;
  /**
   * Security-relevant metadata an approved (or demo) service asked to change: held for review while
   * the approved version stays in force. Field → proposed value (null: the field removed).
   */
  pendingChange?: PendingChange;
}

interface PendingChange {
  at: string;
  /** The environment whose registration endpoint received the update. */
  via: Environment;
  proposed: Metadata;
}

export type { AuditEntry };

export type LifecycleAction = 'approve' | 'reject' | 'suspend' | 'reinstate' | 'publish-to-demo' | 'unpublish-from-demo';

export const DEFAULT_SETTINGS: OperatorSettings = { allowTestLearnerIds: false, releasedClaims: null, refreshTokens: false, publicSubject: false };

/** A refused operator action (e.g. approving a suspended service); the admin API answers 409. */
export class LifecycleError extends Error {
  override readonly name = 'LifecycleError';
  constructor(
    readonly code: 'not_found' | 'invalid_transition' | 'static_client' | 'invalid_metadata',
    message: string,
  ) {
    super(message);
  }
}

export interface StaticClientPolicy {
  allowTestLearnerIds: boolean;
  releasedClaims?: string[] | undefined;
  refreshTokens?: boolean;
}

const view = (record: LifecycleView): LifecycleView => ({
  status: record.status,
  suspended: record.suspended,
  publishedToDemo: record.publishedToDemo,
  settings: { ...record.settings, releasedClaims: record.settings.releasedClaims ? [...record.settings.releasedClaims] : null },
});

export function stateOf(record: LifecycleView): ClientState {
  return record.suspended ? 'suspended' : record.status;
}

/**
 * Whether a service with this lifecycle may sign users in, in this environment. The test environment
 * admits services under review (it offers only test directories, so they meet no real pupil).
 */
export function allowedIn(record: LifecycleView, environment: Environment): boolean {
  if (record.suspended || record.status === 'rejected') return false;
  if (environment === 'test') return true;
  if (environment === 'demo') return record.publishedToDemo;
  return record.status === 'approved';
}

const STRICTNESS: readonly Environment[] = ['test', 'demo', 'production'];

/**
 * The environment whose registration rules a service's metadata must meet: the strictest of the
 * endpoint it used and every environment the service may be used in (an approved service is judged
 * by production's rules, whichever environment's `/reg` it calls).
 */
export function strictestEnvironment(via: Environment, record: LifecycleView | undefined): Environment {
  const reach: Environment[] = [via];
  if (record && record.status === 'approved') reach.push('production');
  if (record?.publishedToDemo) reach.push('demo');
  return reach.reduce((a, b) => (STRICTNESS.indexOf(b) > STRICTNESS.indexOf(a) ? b : a));
}

/** Whether changes to the service's security-relevant metadata wait for an operator's review. */
export function changesNeedReview(record: LifecycleView): boolean {
  return record.status === 'approved' || record.publishedToDemo;
}

/**
 * Each action's states and where it leads. The review (approve, reject), the suspension and the
 * publication to demo are independent of each other, except that a rejected service is in no demo.
 */
export const SERVICE_TRANSITIONS: TransitionTable<LifecycleAction, LifecycleView> = {
  approve: {
    requires: [{ field: 'status', from: ['pending', 'rejected'], refusal: 'the service is already approved' }],
    to: (state) => ({ ...state, status: 'approved' }),
  },
  reject: {
    requires: [{ field: 'status', from: ['pending', 'approved'], refusal: 'the service is already rejected' }],
    to: (state) => ({ ...state, status: 'rejected', publishedToDemo: false }),
  },
  suspend: {
    requires: [{ field: 'suspended', from: [false], refusal: 'the service is already suspended' }],
    to: (state) => ({ ...state, suspended: true }),
  },
  reinstate: {
    requires: [{ field: 'suspended', from: [true], refusal: 'the service is not suspended' }],
    to: (state) => ({ ...state, suspended: false }),
  },
  'publish-to-demo': {
    requires: [
      { field: 'status', from: ['pending', 'approved'], refusal: 'a rejected service cannot be published' },
      { field: 'publishedToDemo', from: [false], refusal: 'the service is already published to demo' },
    ],
    to: (state) => ({ ...state, publishedToDemo: true }),
  },
  'unpublish-from-demo': {
    requires: [{ field: 'publishedToDemo', from: [true], refusal: 'the service is not published to demo' }],
    to: (state) => ({ ...state, publishedToDemo: false }),
  },
};

export const LIFECYCLE_ACTIONS = Object.keys(SERVICE_TRANSITIONS) as readonly LifecycleAction[];

/**
 * The registry of services: lifecycle state and operator settings per client_id, plus the audit log.
 * Statically configured clients count as approved (in every environment) and are not stored.
 */
/**
 * The service records read within one request. A request reads its service's record several times
 * (client resolution at each Client.find, the release decision): the first read serves the rest, and
 * any write of a record in the request drops it. Outside `withServiceReads` every read goes to the store.
 */
const requestReads = new AsyncLocalStorage<Map<string, Promise<unknown>>>();

export function withServiceReads<T>(work: () => T): T {
  return requestReads.run(new Map(), work);
}

/** The durable store, telling the request's reads when a record changes. */
function forgettingReads(store: DurableStore): DurableStore {
  const forget = (key: string) => requestReads.getStore()?.delete(key);
  return Object.assign(Object.create(store) as DurableStore, {
    put: (key: string, value: unknown, ttlSeconds?: number) => (forget(key), store.put(key, value, ttlSeconds)),
    take: <T>(key: string) => (forget(key), store.take<T>(key)),
    delete: (key: string) => (forget(key), store.delete(key)),
  });
}

export class ServiceRegistry {
  private readonly statics: Map<string, StaticClientPolicy>;
  private readonly store: DurableStore;
  private readonly auditTrail: AuditLog;
  private readonly lifecycle: LifecycleRecords<ClientLifecycle, LifecycleView, LifecycleAction>;

  constructor(
    store: DurableStore,
    statics: Iterable<[string, StaticClientPolicy]> = [],
    /** oidc-provider's `Client` model storage (shared by every environment): the services' own metadata. */
    private readonly clientMetadata?: Adapter,
  ) {
    this.store = forgettingReads(store);
    this.statics = new Map(statics);
    this.auditTrail = new AuditLog(store);
    this.lifecycle = new LifecycleRecords<ClientLifecycle, LifecycleView, LifecycleAction>(this.auditTrail, {
      transitions: SERVICE_TRANSITIONS,
      stateOf: view,
      auditSubject: (record) => ({ clientId: record.clientId }),
      save: (record) => this.store.put(`client:${record.clientId}`, record),
      refused: (reason) => new LifecycleError('invalid_transition', reason),
    });
  }

  private staticRecord(clientId: string, policy: StaticClientPolicy): ClientLifecycle {
    return {
      clientId,
      static: true,
      status: 'approved',
      suspended: false,
      publishedToDemo: true,
      settings: {
        allowTestLearnerIds: policy.allowTestLearnerIds,
        releasedClaims: policy.releasedClaims ? [...policy.releasedClaims] : null,
        refreshTokens: policy.refreshTokens ?? false,
        publicSubject: true,
      },
      history: [],
    };
  }

  async get(clientId: string): Promise<ClientLifecycle | undefined> {
    const policy = this.statics.get(clientId);
    if (policy) return this.staticRecord(clientId, policy);
    const key = `client:${clientId}`;
    const reads = requestReads.getStore();
    if (!reads) return this.store.get<ClientLifecycle>(key);
    let read = reads.get(key) as Promise<ClientLifecycle | undefined> | undefined;
    if (!read) {
      read = this.store.get<ClientLifecycle>(key);
      reads.set(key, read);
      // A failed read is not kept: a retry in the same request asks the store again.
      read.catch(() => reads.delete(key));
    }
    return read;
  }

  /** The record of a service that exists (a deleted registration's record is kept only for the audit trail). */
  async live(clientId: string): Promise<ClientLifecycle | undefined> {
    const record = await this.get(clientId);
    return record && !record.deletedAt ? record : undefined;
  }

  /** A client without a lifecycle record (or with a deleted one) is allowed nowhere. */
  async isAllowed(clientId: string, environment: Environment): Promise<boolean> {
    const record = await this.live(clientId);
    return record !== undefined && allowedIn(record, environment);
  }

  /** The service's own metadata as stored by the provider (never its secret), whatever its state. */
  async metadata(clientId: string): Promise<Metadata | undefined> {
    const stored = (await this.clientMetadata?.find(clientId)) as Metadata | undefined;
    return stored ? redactMetadata(stored) : undefined;
  }

  /**
   * oidc-provider's `Client` storage with the registry kept in step: whatever path a registration,
   * an RFC 7592 update or a deletion took, the service's record is created (pending), its metadata
   * change is audited with a diff, or the record is marked deleted, before the provider answers.
   */
  tracking(adapter: Adapter, via: Environment): Adapter {
    const registry = this;
    return Object.assign(Object.create(adapter) as Adapter, {
      async upsert(id: string, payload: Metadata, expiresIn: number) {
        const before = (await adapter.find(id)) as Metadata | undefined;
        await adapter.upsert(id, payload, expiresIn);
        await registry.metadataStored(id, before, payload, via);
      },
      async destroy(id: string) {
        await adapter.destroy(id);
        await registry.deleted(id, via);
      },
    });
  }

  private async metadataStored(clientId: string, before: Metadata | undefined, after: Metadata, via: Environment): Promise<void> {
    const record = await this.store.get<ClientLifecycle>(`client:${clientId}`);
    if (!record) {
      const created: ClientLifecycle = {
        clientId,
        static: false,
        status: 'pending',
        suspended: false,
        publishedToDemo: false,
        settings: { ...DEFAULT_SETTINGS },
        registeredAt: new Date().toISOString(),
        history: [],
      };
      await this.store.put(`client:${clientId}`, created);
      await this.store.addMember('clients', clientId);
      await this.auditTrail.append({ operator: 'service', action: 'register', clientId, after: redactMetadata(after), detail: { via } });
      return;
    }
    const diff = metadataDiff(before ?? {}, after);
    if (Object.keys(diff).length === 0) return;
    await this.auditTrail.append({ operator: 'service', action: 'update-metadata', clientId, detail: { via, changes: diff } });
  }

  /** The service deleted its registration (RFC 7592): the record stays for the audit trail. */
  async deleted(clientId: string, via?: Environment): Promise<void> {
    const record = await this.store.get<ClientLifecycle>(`client:${clientId}`);
    if (!record || record.deletedAt) return;
    const { pendingChange: _dropped, ...rest } = record;
    await this.store.put(`client:${clientId}`, { ...rest, deletedAt: new Date().toISOString() });
    await this.auditTrail.append({ operator: 'service', action: 'delete-registration', clientId, ...(via ? { detail: { via } } : {}) });
  }

  /** Holds a service's change of security-relevant metadata for review (replacing an earlier one). */
  async proposeChange(clientId: string, proposed: Metadata, via: Environment): Promise<void> {
    const record = await this.mutable(clientId);
    const pendingChange: PendingChange = { at: new Date().toISOString(), via, proposed };
    await this.store.put(`client:${clientId}`, { ...record, pendingChange });
    await this.auditTrail.append({ operator: 'service', action: 'propose-change', clientId, detail: { via, proposed: redactMetadata(proposed) } });
  }

  /**
   * An operator's decision on the held change. Approving applies it to the stored metadata through
   * `validate` (the registration rules and the provider's own checks), so it takes effect at once.
   */
  async decideChange(
    clientId: string,
    decision: 'approve-change' | 'reject-change',
    operator: string,
    validate: (merged: Metadata) => Promise<Metadata>,
    reason?: string,
  ): Promise<AuditEntry> {
    const record = await this.mutable(clientId);
    const change = record.pendingChange;
    if (!change) throw new LifecycleError('invalid_transition', 'the service has no change waiting for review');
    const { pendingChange: _decided, ...rest } = record;
    let detail: Record<string, unknown> = { proposed: redactMetadata(change.proposed), via: change.via };
    if (decision === 'approve-change') {
      const current = (await this.clientMetadata?.find(clientId)) as Metadata | undefined;
      if (!current) throw new LifecycleError('not_found', 'the service has no stored metadata');
      const merged: Metadata = { ...current };
      for (const [field, value] of Object.entries(change.proposed)) {
        if (value === null) delete merged[field];
        else merged[field] = value;
      }
      const valid = await validate(merged);
      await this.clientMetadata!.upsert(clientId, valid, undefined as unknown as number);
      detail = { ...detail, changes: metadataDiff(current, valid) };
    }
    await this.store.put(`client:${clientId}`, rest);
    return this.auditTrail.append({ operator, action: decision, clientId, detail, ...(reason ? { reason } : {}) });
  }

  /** Every registered service, pending ones first, then by registration time. */
  async list(state?: ClientState): Promise<ClientLifecycle[]> {
    const ids = await this.store.members('clients');
    const records = (await Promise.all(ids.map((id) => this.store.get<ClientLifecycle>(`client:${id}`)))).filter(
      (r): r is ClientLifecycle => r !== undefined && !r.deletedAt,
    );
    const order: Record<ClientState, number> = { pending: 0, approved: 1, suspended: 2, rejected: 3 };
    return records
      .filter((r) => !state || stateOf(r) === state)
      .sort((a, b) => order[stateOf(a)] - order[stateOf(b)] || (a.registeredAt ?? '').localeCompare(b.registeredAt ?? ''));
  }

  private async mutable(clientId: string): Promise<ClientLifecycle> {
    if (this.statics.has(clientId)) throw new LifecycleError('static_client', 'the service is configured statically; change the configuration instead');
    const record = await this.store.get<ClientLifecycle>(`client:${clientId}`);
    if (!record || record.deletedAt) throw new LifecycleError('not_found', 'no such registered service');
    return record;
  }

  async act(clientId: string, action: LifecycleAction, operator: string, reason?: string): Promise<AuditEntry> {
    const record = await this.mutable(clientId);
    // Suspension and rejection revoke what the service holds; later tokens are judged by the lifecycle.
    const revoking = action === 'suspend' || action === 'reject' ? { tokensRevokedBefore: Math.floor(Date.now() / 1000) } : {};
    return this.lifecycle.act({ ...record, ...revoking }, action, { operator, reason });
  }

  /** Whether a token the service was issued at `issuedAt` (epoch seconds) was revoked by a suspension. */
  async tokenRevoked(clientId: string, issuedAt: number | undefined): Promise<boolean> {
    const revokedBefore = (await this.get(clientId))?.tokensRevokedBefore;
    // Times are whole seconds: a token of the very second of the suspension counts as revoked.
    return revokedBefore !== undefined && (issuedAt === undefined || issuedAt <= revokedBefore);
  }

  async updateSettings(clientId: string, patch: Partial<OperatorSettings>, operator: string, reason?: string): Promise<AuditEntry> {
    const record = await this.mutable(clientId);
    const before = view(record);
    const after = { ...before, settings: { ...before.settings, ...patch } };
    // Settings are part of the state the history shows, though no transition moves them.
    return this.lifecycle.commit(record, { ...record, ...after }, { operator, action: 'update-settings', reason, from: before, to: after });
  }

  /** Operator actions that concern no single service's lifecycle (e.g. issuing an initial access token). */
  async audit(entry: Omit<AuditEntry, 'at' | 'seq' | 'prev' | 'hash'>): Promise<void> {
    await this.auditTrail.append(entry);
  }

  /** A page of the audit log (services and directories): the newest `limit` entries, oldest first. */
  async auditLog(query: AuditQuery = {}): Promise<AuditPage> {
    return this.auditTrail.page(query);
  }

  /** Whether the audit log's hash chain holds from its first entry to its last. */
  async verifyAuditLog(): Promise<AuditVerification> {
    return this.auditTrail.verify();
  }
}
