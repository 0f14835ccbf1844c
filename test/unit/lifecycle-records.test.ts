import { describe, expect, it } from '@jest/globals';
import { DIRECTORY_ACTIONS, DIRECTORY_TRANSITIONS, type DirectoryAction, type DirectoryState } from '../../src/directories/lifecycle.js';
import { AuditLog } from '../../src/lifecycle/audit-log.js';
import { type LifecycleRecord, LifecycleRecords, type TransitionTable } from '../../src/lifecycle/records.js';
import { DEFAULT_SETTINGS, LIFECYCLE_ACTIONS, type LifecycleAction, type LifecycleView, SERVICE_TRANSITIONS } from '../../src/services/registry.js';
import { createMemoryStorage } from '../../src/storage/memory.js';

/**
 * The shared lifecycle module run with both domains' tables: every action from every state the
 * domain can reach, allowed or refused, and what the record's history and the audit log then hold.
 */

class Refused extends Error {}

type Stored<State> = State & LifecycleRecord<State> & { id: string; createdBy: string };

/** A domain over a memory store, audited under `subject` like the real one; `stateOf` is its projection of a record. */
function lifecycleOver<State extends object, Action extends string>(
  transitions: TransitionTable<Action, State>,
  stateOf: (record: State) => State,
  subject: 'clientId' | 'directoryId',
) {
  const store = createMemoryStorage().durable('registry');
  const audit = new AuditLog(store);
  const records = new LifecycleRecords<Stored<State>, State, Action>(audit, {
    transitions,
    stateOf,
    auditSubject: (record) => ({ [subject]: record.id }),
    save: (record) => store.put(`record:${record.id}`, record),
    refused: (reason) => new Refused(reason),
  });
  const put = async (state: State): Promise<Stored<State>> => {
    const record: Stored<State> = { ...state, id: 'subject-1', createdBy: 'someone', history: [] };
    await store.put('record:subject-1', record);
    return record;
  };
  const stored = async () => (await store.get<Stored<State>>('record:subject-1'))!;
  return { store, audit, records, put, stored, subject };
}

/** Applies `action` from `from` and checks the outcome, the history entry and the audit entry. */
async function expectOutcome<State extends object, Action extends string>(
  domain: ReturnType<typeof lifecycleOver<State, Action>>,
  from: State,
  action: Action,
  expected: State | string,
): Promise<void> {
  const record = await domain.put(from);
  const attempt = domain.records.act(record, action, { operator: 'op-1', reason: 'because' });
  if (typeof expected === 'string') {
    await expect(attempt).rejects.toThrow(new Refused(expected));
    expect(await domain.stored()).toEqual(record);
    expect((await domain.audit.page()).total).toBe(0);
    return;
  }
  const audited = await attempt;
  const after = await domain.stored();
  expect(after).toEqual({ ...expected, id: 'subject-1', createdBy: 'someone', history: [expect.anything()] });
  const history = after.history[0]!;
  expect(history).toEqual({ at: audited.at, operator: 'op-1', action, from, to: expected, reason: 'because' });
  expect(audited).toEqual({
    at: history.at,
    operator: 'op-1',
    action,
    [domain.subject]: 'subject-1',
    before: from,
    after: expected,
    reason: 'because',
    seq: 0,
    prev: 'genesis',
    hash: expect.any(String),
  });
  expect(await domain.audit.list()).toEqual([audited]);
  expect(await domain.audit.verify()).toEqual({ ok: true, entries: 1 });
}

describe('services: every action from every state', () => {
  // `pending suspended demo`: review status, then the flags that are set. A rejected service is in no demo.
  const state = (label: string): LifecycleView => {
    const [status, ...flags] = label.split(' ');
    return {
      status: status as LifecycleView['status'],
      suspended: flags.includes('suspended'),
      publishedToDemo: flags.includes('demo'),
      settings: DEFAULT_SETTINGS,
    };
  };
  const STATES = [
    'pending',
    'pending suspended',
    'pending demo',
    'pending suspended demo',
    'approved',
    'approved suspended',
    'approved demo',
    'approved suspended demo',
    'rejected',
    'rejected suspended',
  ];

  const approved = 'the service is already approved';
  const rejected = 'the service is already rejected';
  const suspended = 'the service is already suspended';
  const notSuspended = 'the service is not suspended';
  const rejectedUnpublishable = 'a rejected service cannot be published';
  const published = 'the service is already published to demo';
  const notPublished = 'the service is not published to demo';
  // Per state, in the order of LIFECYCLE_ACTIONS: the state after the action (a label) or the refusal.
  const OUTCOMES: Record<string, Record<LifecycleAction, string>> = {
    pending: {
      approve: '→ approved',
      reject: '→ rejected',
      suspend: '→ pending suspended',
      reinstate: notSuspended,
      'publish-to-demo': '→ pending demo',
      'unpublish-from-demo': notPublished,
    },
    'pending suspended': {
      approve: '→ approved suspended',
      reject: '→ rejected suspended',
      suspend: suspended,
      reinstate: '→ pending',
      'publish-to-demo': '→ pending suspended demo',
      'unpublish-from-demo': notPublished,
    },
    'pending demo': {
      approve: '→ approved demo',
      reject: '→ rejected',
      suspend: '→ pending suspended demo',
      reinstate: notSuspended,
      'publish-to-demo': published,
      'unpublish-from-demo': '→ pending',
    },
    'pending suspended demo': {
      approve: '→ approved suspended demo',
      reject: '→ rejected suspended',
      suspend: suspended,
      reinstate: '→ pending demo',
      'publish-to-demo': published,
      'unpublish-from-demo': '→ pending suspended',
    },
    approved: {
      approve: approved,
      reject: '→ rejected',
      suspend: '→ approved suspended',
      reinstate: notSuspended,
      'publish-to-demo': '→ approved demo',
      'unpublish-from-demo': notPublished,
    },
    'approved suspended': {
      approve: approved,
      reject: '→ rejected suspended',
      suspend: suspended,
      reinstate: '→ approved',
      'publish-to-demo': '→ approved suspended demo',
      'unpublish-from-demo': notPublished,
    },
    'approved demo': {
      approve: approved,
      reject: '→ rejected',
      suspend: '→ approved suspended demo',
      reinstate: notSuspended,
      'publish-to-demo': published,
      'unpublish-from-demo': '→ approved',
    },
    'approved suspended demo': {
      approve: approved,
      reject: '→ rejected suspended',
      suspend: suspended,
      reinstate: '→ approved demo',
      'publish-to-demo': published,
      'unpublish-from-demo': '→ approved suspended',
    },
    rejected: {
      approve: '→ approved',
      reject: rejected,
      suspend: '→ rejected suspended',
      reinstate: notSuspended,
      'publish-to-demo': rejectedUnpublishable,
      'unpublish-from-demo': notPublished,
    },
    'rejected suspended': {
      approve: '→ approved suspended',
      reject: rejected,
      suspend: suspended,
      reinstate: '→ rejected',
      'publish-to-demo': rejectedUnpublishable,
      'unpublish-from-demo': notPublished,
    },
  };

  it('has an outcome for every state and action', () => {
    expect(Object.keys(OUTCOMES)).toEqual(STATES);
    for (const outcomes of Object.values(OUTCOMES)) expect(Object.keys(outcomes)).toEqual([...LIFECYCLE_ACTIONS]);
  });

  const view = ({ status, suspended, publishedToDemo, settings }: LifecycleView): LifecycleView => ({ status, suspended, publishedToDemo, settings });
  it.each(STATES.flatMap((from) => LIFECYCLE_ACTIONS.map((action) => [from, action, OUTCOMES[from]![action]] as const)))(
    '%s + %s: %s',
    async (from, action, outcome) => {
      const domain = lifecycleOver(SERVICE_TRANSITIONS, view, 'clientId');
      await expectOutcome(domain, state(from), action, outcome.startsWith('→ ') ? state(outcome.slice(2)) : outcome);
    },
  );
});

describe('directories: every action from every state', () => {
  const STATES: Record<string, DirectoryState> = {
    draft: { status: 'draft' },
    testing: { status: 'testing' },
    approved: { status: 'approved' },
    'suspended from testing': { status: 'suspended', suspendedFrom: 'testing' },
    'suspended from approved': { status: 'suspended', suspendedFrom: 'approved' },
  };
  const OUTCOMES: Record<string, Record<DirectoryAction, string>> = {
    draft: {
      'start-testing': '→ testing',
      approve: 'only a directory in testing can be approved (it is draft)',
      suspend: 'only a directory in testing or production can be suspended (it is draft)',
      reinstate: 'the directory is not suspended',
      'return-to-testing': 'only an approved directory can return to testing (it is draft)',
    },
    testing: {
      'start-testing': 'only a draft can start testing (the directory is testing)',
      approve: '→ approved',
      suspend: '→ suspended from testing',
      reinstate: 'the directory is not suspended',
      'return-to-testing': 'only an approved directory can return to testing (it is testing)',
    },
    approved: {
      'start-testing': 'only a draft can start testing (the directory is approved)',
      approve: 'only a directory in testing can be approved (it is approved)',
      suspend: '→ suspended from approved',
      reinstate: 'the directory is not suspended',
      'return-to-testing': '→ testing',
    },
    'suspended from testing': {
      'start-testing': 'only a draft can start testing (the directory is suspended)',
      approve: 'only a directory in testing can be approved (it is suspended)',
      suspend: 'only a directory in testing or production can be suspended (it is suspended)',
      reinstate: '→ testing',
      'return-to-testing': 'only an approved directory can return to testing (it is suspended)',
    },
    'suspended from approved': {
      'start-testing': 'only a draft can start testing (the directory is suspended)',
      approve: 'only a directory in testing can be approved (it is suspended)',
      suspend: 'only a directory in testing or production can be suspended (it is suspended)',
      reinstate: '→ approved',
      'return-to-testing': 'only an approved directory can return to testing (it is suspended)',
    },
  };

  it('has an outcome for every state and action', () => {
    expect(Object.keys(OUTCOMES)).toEqual(Object.keys(STATES));
    for (const outcomes of Object.values(OUTCOMES)) expect(Object.keys(outcomes)).toEqual([...DIRECTORY_ACTIONS]);
  });

  // A reinstated directory loses `suspendedFrom`: the record keeps only the fields of its new state.
  const stateOf = ({ status, suspendedFrom }: DirectoryState): DirectoryState => ({ status, ...(suspendedFrom ? { suspendedFrom } : {}) });
  it.each(Object.keys(STATES).flatMap((from) => DIRECTORY_ACTIONS.map((action) => [from, action, OUTCOMES[from]![action]] as const)))(
    '%s + %s: %s',
    async (from, action, outcome) => {
      const domain = lifecycleOver(DIRECTORY_TRANSITIONS, stateOf, 'directoryId');
      await expectOutcome(domain, STATES[from]!, action, outcome.startsWith('→ ') ? STATES[outcome.slice(2)]! : outcome);
    },
  );
});

describe('changes that are not moves, and what a move leaves around it', () => {
  const stateOf = ({ status, suspendedFrom }: DirectoryState): DirectoryState => ({ status, ...(suspendedFrom ? { suspendedFrom } : {}) });

  it('records an edit: the history names what changed, the audit shows the unchanged state and the detail', async () => {
    const domain = lifecycleOver(DIRECTORY_TRANSITIONS, stateOf, 'directoryId');
    const record = await domain.put({ status: 'testing' });
    const audited = await domain.records.commit(
      record,
      { ...record, createdBy: 'someone else' },
      { operator: 'op-1', action: 'update', changed: ['createdBy'], detail: { complete: true } },
    );
    const after = await domain.stored();
    expect(after.createdBy).toBe('someone else');
    expect(after.history).toEqual([{ at: audited.at, operator: 'op-1', action: 'update', changed: ['createdBy'] }]);
    expect(audited).toMatchObject({
      operator: 'op-1',
      action: 'update',
      directoryId: 'subject-1',
      before: { status: 'testing' },
      after: { status: 'testing' },
      detail: { changed: ['createdBy'], complete: true },
    });
    expect(audited).not.toHaveProperty('reason');
  });

  it('records a creation with the first state only, and a state edit with both', async () => {
    const domain = lifecycleOver(DIRECTORY_TRANSITIONS, stateOf, 'directoryId');
    const record = await domain.put({ status: 'draft' });
    await domain.records.commit(record, record, { operator: 'op-1', action: 'create', to: { status: 'draft' } });
    await domain.records.commit(
      await domain.stored(),
      { ...(await domain.stored()), status: 'testing' },
      {
        operator: 'op-2',
        action: 'edit-state',
        from: { status: 'draft' },
        to: { status: 'testing' },
        reason: 'why',
      },
    );
    const { history } = await domain.stored();
    expect(history.map(({ at: _at, ...entry }) => entry)).toEqual([
      { operator: 'op-1', action: 'create', to: { status: 'draft' } },
      { operator: 'op-2', action: 'edit-state', from: { status: 'draft' }, to: { status: 'testing' }, reason: 'why' },
    ]);
    const [created, edited] = await domain.audit.list();
    expect(created).toMatchObject({ before: { status: 'draft' }, after: { status: 'draft' } });
    expect(edited).toMatchObject({ before: { status: 'draft' }, after: { status: 'testing' }, reason: 'why', prev: created!.hash });
  });

  it("runs the domain's own check only for a move the table allows, and writes nothing when it fails", async () => {
    const domain = lifecycleOver(DIRECTORY_TRANSITIONS, stateOf, 'directoryId');
    const checked: string[] = [];
    const admit = () => {
      checked.push('admit');
      throw new Error('the self-audit is not complete');
    };
    const draft = await domain.put({ status: 'draft' });
    await expect(domain.records.act(draft, 'approve', { operator: 'op-1' }, admit)).rejects.toBeInstanceOf(Refused);
    expect(checked).toEqual([]);
    const testing = await domain.put({ status: 'testing' });
    await expect(domain.records.act(testing, 'approve', { operator: 'op-1' }, admit)).rejects.toThrow('the self-audit is not complete');
    expect(checked).toEqual(['admit']);
    expect(await domain.stored()).toEqual(testing);
    expect((await domain.audit.page()).total).toBe(0);
  });

  it('keeps the newest 200 history entries, while the audit log keeps every one', async () => {
    const domain = lifecycleOver(DIRECTORY_TRANSITIONS, stateOf, 'directoryId');
    await domain.put({ status: 'testing' });
    for (let round = 0; round < 101; round += 1) {
      await domain.records.act(await domain.stored(), 'suspend', { operator: `op-${round}` });
      await domain.records.act(await domain.stored(), 'reinstate', { operator: `op-${round}` });
    }
    const { history } = await domain.stored();
    expect(history).toHaveLength(200);
    expect(history[0]).toMatchObject({ operator: 'op-1', action: 'suspend' });
    expect(history.at(-1)).toMatchObject({ operator: 'op-100', action: 'reinstate' });
    expect((await domain.audit.page()).total).toBe(202);
    expect(await domain.audit.verify()).toEqual({ ok: true, entries: 202 });
  });
});
