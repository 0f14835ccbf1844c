import { CITY_DIRECTORY } from '../support/definitions.js';
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { directoryEnvironment } from '../../src/admin/roles.js';
import { printable, scrub } from '../../src/admin/terminal-text.js';
import { PoolFullError, VerificationPool } from '../../src/admin/verification-pool.js';
import { parseConfig } from '../../src/config/load.js';
import { DirectoryRecords, type DirectoryRecord } from '../../src/directories/records.js';
import { SecretBox } from '../../src/directories/secret-box.js';
import { createMemoryStorage } from '../../src/storage/memory.js';

const key = () => randomBytes(32).toString('base64url');

describe('printable (CLI output)', () => {
  it('shows controls, DEL, C1 and bidi characters as visible escapes and keeps the rest', () => {
    expect(printable('a\u001b[31mb\r\n\t\u007f\u0085\u202e\u2066\u200f')).toBe('a\\u{1b}[31mb\\u{d}\\u{a}\\u{9}\\u{7f}\\u{85}\\u{202e}\\u{2066}\\u{200f}');
    expect(printable('Mansikkalan koulu – åäö ✓')).toBe('Mansikkalan koulu – åäö ✓');
  });

  it('reaches every string of a JSON value, keys included', () => {
    expect(scrub({ 'k\u001b': ['x\u202e', 1, null, { y: 'z\r' }] })).toEqual({ 'k\\u{1b}': ['x\\u{202e}', 1, null, { y: 'z\\u{d}' }] });
  });
});

describe('VerificationPool', () => {
  it('runs at most `concurrency` tasks, lets `queue` wait and refuses the rest at once', async () => {
    const pool = new VerificationPool(2, 1);
    const releases: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const task = () =>
      pool.run(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
      });
    const first = task();
    const second = task();
    const waiting = task();
    await expect(task()).rejects.toBeInstanceOf(PoolFullError);
    expect(releases).toHaveLength(2);
    releases.shift()!();
    await first;
    // The waiting task got the freed slot.
    await new Promise((resolve) => setImmediate(resolve));
    expect(releases).toHaveLength(2);
    for (const release of releases) release();
    await Promise.all([second, waiting]);
    expect(most).toBe(2);
    // Everything is free again.
    await expect(pool.run(async () => 'ok')).resolves.toBe('ok');
  });
});

describe('operator environments', () => {
  it('puts a directory in production while it is approved or suspended from production', () => {
    expect(directoryEnvironment({ status: 'draft' })).toBe('test');
    expect(directoryEnvironment({ status: 'testing' })).toBe('test');
    expect(directoryEnvironment({ status: 'approved' })).toBe('production');
    expect(directoryEnvironment({ status: 'suspended', suspendedFrom: 'approved' })).toBe('production');
    expect(directoryEnvironment({ status: 'suspended', suspendedFrom: 'testing' })).toBe('test');
  });

  it('defaults to every environment, refuses none and refuses the admin port on the public port', () => {
    const operator = { username: 'op', passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA' };
    const config = parseConfig({ admin: { operators: [operator], allowInMemoryRecords: true } });
    expect(config.admin.operators[0]!.environments).toEqual(['test', 'demo', 'production']);
    expect(config.admin).toMatchObject({ host: '127.0.0.1', throttle: { failuresPerAddress: 20, failuresPerUsername: 10, concurrentVerifications: 2 } });
    expect(() => parseConfig({ admin: { operators: [{ ...operator, environments: [] }], allowInMemoryRecords: true } })).toThrow(/environments/);
    expect(() => parseConfig({ port: 3000, admin: { port: 3000 } })).toThrow(/admin.port/);
  });
});

describe('directory secrets', () => {
  const definition = CITY_DIRECTORY;
  type Definition = Parameters<DirectoryRecords['create']>[0];

  function setup() {
    const store = createMemoryStorage().durable('registry');
    const box = new SecretBox([key()]);
    return { store, box, directories: new DirectoryRecords(store, box) };
  }

  it('binds a sealed secret to the id and the issuer', async () => {
    const { directories } = setup();
    const record = await directories.create(definition as Definition, { value: 's3cret' }, 'op');
    expect(record.secret).toMatchObject({ kind: 'sealed', binding: 'id+issuer' });
    expect(directories.secretOf(record)).toBe('s3cret');
    expect(() => directories.secretOf({ ...record, definition: { ...record.definition, issuer: 'https://evil.example' } as typeof record.definition })).toThrow(
      /does not open/,
    );
    expect(() => directories.secretOf({ ...record, definition: { ...record.definition, id: 'town' } })).toThrow(/does not open/);
  });

  it('refuses an issuer change without the secret, and seals a new one for the new issuer', async () => {
    const { directories } = setup();
    await directories.create(definition as Definition, { value: 'old' }, 'op');
    await expect(directories.update('city', { issuer: 'https://evil.example' }, undefined, 'op')).rejects.toMatchObject({ code: 'secret_required' });
    await directories.update('city', { issuer: 'https://new.example' }, { value: 'new' }, 'op');
    const record = (await directories.get('city'))!;
    expect(record.definition).toMatchObject({ issuer: 'https://new.example' });
    expect(directories.secretOf(record)).toBe('new');
  });

  it('still opens a record sealed for the id only, and binds it to the issuer at its next update', async () => {
    const { store, box, directories } = setup();
    await directories.create(definition as Definition, { value: 'x' }, 'op');
    const current = (await store.get<DirectoryRecord>('directory:city'))!;
    // As written before the issuer was bound.
    await store.put('directory:city', { ...current, secret: box.seal('legacy', 'city') });
    const legacy = (await directories.get('city'))!;
    expect(directories.secretOf(legacy)).toBe('legacy');
    await directories.update('city', { displayName: { fi: 'Uusi' } }, undefined, 'op');
    const rebound = (await directories.get('city'))!;
    expect(rebound.secret).toMatchObject({ binding: 'id+issuer' });
    expect(directories.secretOf(rebound)).toBe('legacy');
  });

  it('takes secret variables only with the dedicated prefix, and never reads others from older records', async () => {
    const { store, directories } = setup();
    await expect(directories.create(definition as Definition, { env: 'SUBJECT_SALT' }, 'op')).rejects.toThrow(/MPASSID_DIRECTORY_SECRET_/);
    const record = await directories.create(definition as Definition, { env: 'MPASSID_DIRECTORY_SECRET_CITY' }, 'op');
    expect(directories.secretOf(record, { MPASSID_DIRECTORY_SECRET_CITY: 'v' })).toBe('v');
    await store.put('directory:city', { ...record, secret: { kind: 'env', name: 'SUBJECT_SALT' } });
    const old = (await directories.get('city'))!;
    expect(() => directories.secretOf(old, { SUBJECT_SALT: 'the-salt' })).toThrow(/MPASSID_DIRECTORY_SECRET_/);
  });
});
