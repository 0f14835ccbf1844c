import { CITY_DIRECTORY } from '../support/definitions.js';
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { DIRECTORY_ACTIONS, DIRECTORY_STATUSES, checkable, transition, usableIn, type DirectoryStatus } from '../../src/directories/lifecycle.js';
import { DirectoryRecords } from '../../src/directories/records.js';
import { SecretBox, SecretBoxError } from '../../src/directories/secret-box.js';
import { selfAuditGaps, selfAuditSchema } from '../../src/directories/self-audit.js';
import { AuditLog } from '../../src/lifecycle/audit-log.js';
import { createMemoryStorage } from '../../src/storage/memory.js';

const key = (): string => randomBytes(32).toString('base64url');

describe('SecretBox', () => {
  it('opens what it sealed, for the same directory only', () => {
    const box = new SecretBox([key()]);
    const sealed = box.seal('client-secret-value', 'city');
    expect(sealed.value).not.toContain('client-secret-value');
    expect(box.open(sealed, 'city')).toBe('client-secret-value');
    expect(() => box.open(sealed, 'other-city')).toThrow(SecretBoxError);
  });

  it('refuses a tampered value and an unknown key', () => {
    const box = new SecretBox([key()]);
    const sealed = box.seal('secret', 'city');
    const raw = Buffer.from(sealed.value, 'base64url');
    raw[raw.length - 20] = raw[raw.length - 20]! ^ 1;
    expect(() => box.open({ ...sealed, value: raw.toString('base64url') }, 'city')).toThrow(/does not open/);
    expect(() => new SecretBox([key()]).open(sealed, 'city')).toThrow(/is not configured/);
    expect(() => box.open({ ...sealed, value: 'abc' }, 'city')).toThrow(/truncated/);
  });

  it('rotates: a new key seals, the old one still opens', () => {
    const oldKey = key();
    const sealed = new SecretBox([oldKey]).seal('secret', 'city');
    const rotated = new SecretBox([key(), oldKey]);
    expect(rotated.open(sealed, 'city')).toBe('secret');
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.isStale(rotated.seal('secret', 'city'))).toBe(false);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new SecretBox(['c2hvcnQ'])).toThrow(/32 bytes/);
    expect(() => new SecretBox([])).toThrow(/no directory key/);
  });
});

describe('directory lifecycle', () => {
  const allowed: Record<string, DirectoryStatus | undefined> = {
    'draft:start-testing': 'testing',
    'testing:approve': 'approved',
    'testing:suspend': 'suspended',
    'approved:suspend': 'suspended',
    'approved:return-to-testing': 'testing',
  };

  it.each(DIRECTORY_STATUSES.flatMap((status) => DIRECTORY_ACTIONS.map((action) => [status, action] as const)))('%s + %s', (status, action) => {
    const next = transition(status === 'suspended' ? { status, suspendedFrom: 'approved' } : { status }, action);
    const expected = status === 'suspended' && action === 'reinstate' ? 'approved' : allowed[`${status}:${action}`];
    if (expected) expect(next).toMatchObject({ status: expected });
    else expect(typeof next).toBe('string');
  });

  it('suspension remembers where the directory was', () => {
    expect(transition({ status: 'testing' }, 'suspend')).toEqual({ status: 'suspended', suspendedFrom: 'testing' });
    expect(transition({ status: 'suspended', suspendedFrom: 'testing' }, 'reinstate')).toEqual({ status: 'testing' });
  });

  it('decides where each state may be used: real pupils only in production', () => {
    const where = (accounts: 'real' | 'test' | 'demo') =>
      DIRECTORY_STATUSES.map((s) => [s, usableIn(s, accounts, 'test'), usableIn(s, accounts, 'demo'), usableIn(s, accounts, 'production'), checkable(s)]);
    expect(where('real')).toEqual([
      ['draft', false, false, false, false],
      ['testing', false, false, false, true],
      ['approved', false, false, true, true],
      ['suspended', false, false, false, false],
    ]);
    expect(where('test')).toEqual([
      ['draft', false, false, false, false],
      ['testing', true, false, false, true],
      ['approved', true, false, false, true],
      ['suspended', false, false, false, false],
    ]);
    expect(where('demo')).toEqual([
      ['draft', false, false, false, false],
      ['testing', false, true, false, true],
      ['approved', false, true, false, true],
      ['suspended', false, false, false, false],
    ]);
  });
});

describe('self-audit', () => {
  it('names every gap', () => {
    expect(selfAuditGaps(undefined)).toEqual(['the self-audit has not been submitted']);
    expect(selfAuditGaps({ attributes: [{ attribute: 'username', userGroups: ['pupils'] }] })).toEqual([
      'attributes: learnerId is not declared',
      'attributes: schoolIds is not declared',
      'attributes: roles is not declared',
      'uniqueIdMaintenance: not answered',
      'learnerIdMaintenance: not answered',
      'accountAdministration: not answered',
      'leaverRemoval: not answered',
      'submittedBy: not answered',
      'securityContact: not given',
    ]);
  });

  it('refuses unknown items, bad addresses and an attribute declared twice', () => {
    expect(selfAuditSchema.safeParse({ extra: 1 }).success).toBe(false);
    expect(selfAuditSchema.safeParse({ securityContact: { name: 'x', email: 'not-an-address' } }).success).toBe(false);
    const twice = [
      { attribute: 'username', userGroups: ['pupils'] },
      { attribute: 'username', userGroups: ['staff'] },
    ];
    expect(selfAuditSchema.safeParse({ attributes: twice }).success).toBe(false);
    expect(selfAuditSchema.safeParse({ attributes: [{ attribute: 'username', userGroups: [] }] }).success).toBe(false);
  });
});

describe('DirectoryRecords', () => {
  const definition = { ...CITY_DIRECTORY, accounts: 'real' as const };

  function registry() {
    const store = createMemoryStorage().durable('registry');
    return { store, registry: new DirectoryRecords(store, new SecretBox([key()]), new Set(['test-school'])) };
  }

  it('opens sealed and referenced secrets; a missing variable is a clear error', async () => {
    const { registry: directories } = registry();
    const sealed = await directories.create(definition, { value: 'secret-1' }, 'op');
    expect(directories.secretOf(sealed)).toBe('secret-1');
    const referenced = await directories.create({ ...definition, id: 'town' }, { env: 'MPASSID_DIRECTORY_SECRET_TOWN' }, 'op');
    expect(directories.secretOf(referenced, { MPASSID_DIRECTORY_SECRET_TOWN: 'secret-2' })).toBe('secret-2');
    expect(() => directories.secretOf(referenced, {})).toThrow(/MPASSID_DIRECTORY_SECRET_TOWN is not set/);
    await expect(directories.create({ ...definition, id: 'village' }, { env: 'lower-case' }, 'op')).rejects.toThrow(/environment variable/);
  });

  it('keeps ids unique, changes the revision on every write, and audits', async () => {
    const { registry: directories, store } = registry();
    await expect(directories.create({ ...definition, id: 'test-school' }, { value: 's' }, 'op')).rejects.toMatchObject({ code: 'conflict' });
    await directories.create(definition, { value: 's' }, 'op');
    const first = await directories.revision();
    await expect(directories.create(definition, { value: 's' }, 'op')).rejects.toMatchObject({ code: 'conflict' });
    await directories.update('city', { displayName: { fi: 'Uusi' } }, undefined, 'op');
    expect(await directories.revision()).not.toBe(first);
    await directories.remove('city', 'op', 'left');
    expect(await directories.get('city')).toBeUndefined();
    await expect(directories.create(definition, { value: 's' }, 'op')).rejects.toThrow(/removed directory had this id/);
    expect((await new AuditLog(store).list({ directoryId: 'city' })).map((e) => e.action)).toEqual(['create', 'update', 'remove']);
  });

  it('approves only with a complete self-audit and a passing check, unless overridden with a reason', async () => {
    const { registry: directories } = registry();
    await directories.create(definition, { value: 's' }, 'op');
    await directories.act('city', 'start-testing', 'op');
    await expect(directories.act('city', 'approve', 'op')).rejects.toMatchObject({ code: 'incomplete_self_audit' });
    await directories.saveSelfAudit(
      'city',
      {
        attributes: ['username', 'learnerId', 'schoolIds', 'roles'].map((attribute) => ({
          attribute: attribute as 'username',
          userGroups: ['pupils' as const],
        })),
        uniqueIdMaintenance: 'a',
        learnerIdMaintenance: 'b',
        accountAdministration: 'c',
        leaverRemoval: 'd',
        submittedBy: 'e',
        securityContact: { name: 'f', email: 'f@example.fi' },
      },
      'op',
    );
    await expect(directories.act('city', 'approve', 'op')).rejects.toMatchObject({ code: 'no_evidence' });
    await expect(directories.act('city', 'approve', 'op', { withoutEvidence: true })).rejects.toThrow(/needs a reason/);
    const approved = await directories.act('city', 'approve', 'op', { withoutEvidence: true, reason: 'checked by phone' });
    expect(approved).toMatchObject({ before: { status: 'testing' }, after: { status: 'approved' }, detail: { withoutEvidence: true } });
    await expect(directories.remove('city', 'op')).rejects.toMatchObject({ code: 'invalid_transition' });
  });
});
