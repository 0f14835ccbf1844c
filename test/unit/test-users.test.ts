import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadTestUsers, parseTestUsers, TestUsersError, type TestUser } from '../../src/testdirectory/users.js';

function writeTemp(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'test-users-')), 'users.json');
  writeFileSync(file, content);
  return file;
}

function errorOf(fn: () => unknown): TestUsersError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TestUsersError);
    return err as TestUsersError;
  }
  throw new Error('expected a TestUsersError');
}

const valid = {
  users: [
    {
      username: 'demo_u0101',
      password: 'demo_u0101pwd',
      description: { fi: 'Täydelliset tiedot', en: 'Complete' },
      claims: { given_name: 'Aino', school_codes: ['30076', '30078'], roles: 'oppilas;opettaja', learning_materials_charges: '1' },
    },
    { username: 'demo_u0102', password: 'x', description: { fi: 'Ei mitään', en: 'Nothing' }, claims: {} },
  ],
};

describe('test user catalogue loader', () => {
  it('loads a valid catalogue, keeping strings, lists and missing claims as they are', () => {
    const users = loadTestUsers(writeTemp(JSON.stringify(valid)));
    expect(users.map((u) => u.username)).toEqual(['demo_u0101', 'demo_u0102']);
    expect(users[0]!.claims).toEqual(valid.users[0]!.claims);
    expect(users[1]!.claims).toEqual({});
  });

  it('reports every problem with its path', () => {
    const file = writeTemp(
      JSON.stringify({
        users: [
          { username: 'pupil-complete', password: 'p', description: { fi: 'a', en: 'b' }, claims: { roles: 7 } },
          { username: 'teacher', description: { fi: 'a' }, claims: { learner: '1.2.246.562.24.10000000002' } },
          { username: 'pupil-complete', password: 'p', description: { fi: 'a', en: 'b' }, claims: { groups: ['9F', 9] } },
        ],
      }),
    );
    const { message } = errorOf(() => loadTestUsers(file));
    expect(message).toContain(file);
    expect(message).toMatch(/users\.0\.claims\.roles: must be a string or an array of strings/);
    expect(message).toMatch(/users\.1\.password/);
    expect(message).toMatch(/users\.1\.description\.en/);
    expect(message).toMatch(/users\.1\.claims.*learner/);
    expect(message).toMatch(/users\.2\.claims\.groups: must be/);
    // Duplicates are only checked once every entry is well-formed, so fix the rest and look again.
    const duplicate = { users: [valid.users[0], { ...valid.users[1], username: 'demo_u0101' }] };
    expect(errorOf(() => parseTestUsers(duplicate)).message).toMatch(/users\.1\.username: duplicate username "demo_u0101"/);
  });

  it('explains a file that is missing or not JSON', () => {
    expect(errorOf(() => loadTestUsers('/nonexistent/test-users.json')).message).toMatch(/cannot read test users from \/nonexistent/);
    expect(errorOf(() => loadTestUsers(writeTemp('{"users": ['))).message).toMatch(/cannot read test users/);
    expect(errorOf(() => parseTestUsers({ users: [] })).message).toMatch(/users/);
  });
});

describe('the bundled catalogue (config/test-users.json)', () => {
  const users: TestUser[] = loadTestUsers(resolve('config/test-users.json'));
  const byName = new Map(users.map((u) => [u.username, u]));
  const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(';')));

  it("is valid, with unique usernames that say what each user shows (not the real MPASSid test accounts' demo_uNNNN), and the public password convention", () => {
    expect(users.length).toBeGreaterThanOrEqual(20);
    expect(byName.size).toBe(users.length);
    for (const user of users) {
      expect(user.username).toMatch(/^[a-z]+(-[a-z]+)+$|^teacher$/);
      expect(user.username).not.toMatch(/^demo_u/);
      expect(user.password).toBe(`${user.username}pwd`);
      expect(user.description.fi.length).toBeGreaterThan(2);
      expect(user.description.en.length).toBeGreaterThan(2);
    }
  });

  it('follows the even/odd learning-material charge rule wherever a single valid charge is given', () => {
    for (const [index, user] of users.entries()) {
      const charge = user.claims.learning_materials_charges;
      if (charge !== '0' && charge !== '1') continue;
      // The n-th user of the catalogue (from 1): odd ones pay, even ones do not.
      expect(`${user.username}:${charge}`).toBe(`${user.username}:${(index + 1) % 2}`);
    }
  });

  it('covers every validation case of the specification', () => {
    const some = (test: (u: TestUser) => boolean) => users.some(test);
    const c = (u: TestUser) => u.claims;
    const complete = byName.get('pupil-complete')!;
    expect(c(complete)).toMatchObject({ school_codes: '30076', groups: '9F', group_levels: '9', roles: 'oppilas' });
    expect(c(complete).learner_id).toMatch(/^1\.2\.246\.562\.24\.\d{11}$/);
    expect(some((u) => values(c(u).roles).includes('opettaja'))).toBe(true);
    expect(some((u) => Array.isArray(c(u).school_codes) && c(u).school_codes!.length === 2 && values(c(u).roles).length === 2)).toBe(true);
    expect(some((u) => values(c(u).school_codes).some((s) => /^\d{7}$/.test(s) || s.startsWith('1.2.246.562.99.')))).toBe(true);
    expect(some((u) => c(u).school_codes === undefined)).toBe(true);
    expect(some((u) => values(c(u).school_codes).includes('99999'))).toBe(true);
    expect(some((u) => /closed school/i.test(u.description.en))).toBe(true);
    expect(some((u) => c(u).learner_id === undefined)).toBe(true);
    expect(some((u) => typeof c(u).learner_id === 'string' && !/^1\.2\.246\.562\.(24|98)\.\d{11}$/.test(c(u).learner_id as string))).toBe(true);
    expect(some((u) => /^1\.2\.246\.562\.98\.\d{11}$/.test(String(c(u).learner_id)))).toBe(true);
    expect(some((u) => c(u).roles === undefined)).toBe(true);
    expect(some((u) => values(c(u).roles).includes('huoltaja'))).toBe(true);
    expect(some((u) => c(u).group_levels === undefined)).toBe(true);
    expect(some((u) => values(c(u).group_levels).some((l) => !/^\d+$/.test(l)))).toBe(true);
    expect(some((u) => c(u).groups === undefined)).toBe(true);
    expect(some((u) => c(u).learning_materials_charges === undefined)).toBe(true);
    expect(some((u) => values(c(u).learning_materials_charges).includes('2'))).toBe(true);
    expect(some((u) => c(u).nickname === undefined)).toBe(true);
    expect(some((u) => c(u).given_name === undefined)).toBe(true);
    expect(some((u) => /[åäöÅÄÖ]/.test(`${c(u).given_name}${c(u).family_name}`))).toBe(true);
    expect(some((u) => values(c(u).school_codes).length === 2 && values(c(u).roles).length === 3)).toBe(true);
    expect(some((u) => typeof c(u).school_codes === 'string' && (c(u).school_codes as string).includes(';'))).toBe(true);
  });
});
