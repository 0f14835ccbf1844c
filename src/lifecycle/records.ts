import type { AuditEntry, AuditLog } from './audit-log.js';

/**
 * The operator-managed lifecycle records (services, school directories). A domain declares its state
 * (the fields of its record an action moves), its transition table and how a record is stored; the
 * moves, the history entry and the audit entry of every change are made here, so the two domains
 * cannot drift apart in what they refuse or record.
 */

/** One line of a record's history, kept in the record itself (the latest few, beside the audit log). */
interface HistoryEntry<State> {
  at: string;
  /** The operator's name, or `service` for what a service did itself. */
  operator: string;
  action: string;
  from?: State;
  to?: State;
  /** The fields an edit changed. */
  changed?: string[];
  reason?: string;
}

/** The fields every lifecycle record has beside its state and its domain's own fields. */
export interface LifecycleRecord<State> {
  history: HistoryEntry<State>[];
  /** Set when the record is removed: it stays in the store for its audit trail. */
  deletedAt?: string;
}

/** A condition of an action: the values one field of the state may have, and what the operator is told otherwise. */
type Precondition<State> = {
  [Field in keyof State]-?: { field: Field; from: readonly State[Field][]; refusal: string | ((value: State[Field]) => string) };
}[keyof State];

interface Transition<State> {
  /** Checked in order: the first that does not hold is the refusal. */
  requires: readonly Precondition<State>[];
  /** The whole state after the action: a field of the state it leaves out is removed from the record. */
  to: (from: State) => State;
}

export type TransitionTable<Action extends string, State> = Readonly<Record<Action, Transition<State>>>;

/** The state after `action`, or why the action is refused in `state`. */
export function nextState<Action extends string, State>(table: TransitionTable<Action, State>, state: State, action: Action): State | string {
  const { requires, to } = table[action];
  for (const condition of requires) {
    const value = state[condition.field];
    // The mapped union loses the link between a field and its values; `Precondition` keeps it for the tables.
    if (!(condition.from as readonly unknown[]).includes(value)) {
      return typeof condition.refusal === 'string' ? condition.refusal : (condition.refusal as (value: unknown) => string)(value);
    }
  }
  return to(state);
}

/** One change of a record, as the history and the audit log show it. */
export interface Change<State> {
  operator: string;
  action: string;
  reason?: string;
  /** The state before the change, for the history (an edit of the state; a move by the table sets it itself). */
  from?: State;
  /** The state after it, for the history (also the first state of a new record). */
  to?: State;
  /** The fields an edit changed (history and audit). */
  changed?: string[];
  /** More for the audit entry only. */
  detail?: Record<string, unknown>;
}

export interface LifecycleDomain<StoredRecord extends LifecycleRecord<State>, State extends object, Action extends string> {
  transitions: TransitionTable<Action, State>;
  /** The record's state: what the audit log shows before → after every change, and the history every move. */
  stateOf: (record: StoredRecord) => State;
  /** Whom an audit entry is about (`clientId` or `directoryId`). */
  auditSubject: (record: StoredRecord) => Pick<AuditEntry, 'clientId' | 'directoryId'>;
  /** Writes the record; `at` is the time of the change, also in its history entry. */
  save: (record: StoredRecord, at: string) => Promise<void>;
  /** The domain's error for an action its table refuses (the admin API answers 409 with it). */
  refused: (reason: string) => Error;
}

const HISTORY_LIMIT = 200;

/** A copy of a state as the audit log keeps it (a JSON object, hashed into the chain). */
const asJson = (state: object): Record<string, unknown> => ({ ...state });

export class LifecycleRecords<StoredRecord extends LifecycleRecord<State>, State extends object, Action extends string> {
  constructor(
    private readonly auditLog: AuditLog,
    private readonly domain: LifecycleDomain<StoredRecord, State, Action>,
  ) {}

  /**
   * Moves the record by its domain's table. `admit` checks the domain's own conditions of this move
   * (and throws when they fail); it runs only once the table allows the move, so an action that is
   * wrong for the state is refused as such first.
   */
  async act(record: StoredRecord, action: Action, change: Omit<Change<State>, 'action' | 'from' | 'to'>, admit?: () => void): Promise<AuditEntry> {
    const from = this.domain.stateOf(record);
    const to = nextState(this.domain.transitions, from, action);
    if (typeof to === 'string') throw this.domain.refused(to);
    admit?.();
    const next: StoredRecord = { ...record, ...to };
    for (const field of Object.keys(from)) if (!(field in to)) delete next[field as keyof StoredRecord];
    return this.commit(record, next, { ...change, action, from, to: this.domain.stateOf(next) });
  }

  /** Writes `next` in place of `record` with the change's history entry, and appends its audit entry. */
  async commit(record: StoredRecord, next: StoredRecord, change: Change<State>): Promise<AuditEntry> {
    const { operator, action, reason, from, to, changed, detail } = change;
    const at = new Date().toISOString();
    const entry: HistoryEntry<State> = {
      at,
      operator,
      action,
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(changed ? { changed } : {}),
      ...(reason ? { reason } : {}),
    };
    await this.domain.save({ ...next, history: [...record.history, entry].slice(-HISTORY_LIMIT) }, at);
    return this.auditLog.append({
      at,
      operator,
      action,
      ...this.domain.auditSubject(record),
      before: asJson(this.domain.stateOf(record)),
      after: asJson(this.domain.stateOf(next)),
      ...(reason ? { reason } : {}),
      ...(changed || detail ? { detail: { ...(changed ? { changed } : {}), ...detail } } : {}),
    });
  }
}
