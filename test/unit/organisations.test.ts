import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  MAX_PARENT_DEPTH,
  SnapshotError,
  SnapshotRegistry,
  createOrganisationRegistry,
  displayName,
  isActive,
  isValidLookupId,
  organisationRegistrySchema,
  resolveSchool,
  snapshotFileSchema,
  type Organisation,
  type OrganisationRegistry,
} from '../../src/organisations/index.js';

const SNAPSHOT_FILE = fileURLToPath(new URL('../../config/organisations.json', import.meta.url));
const registry = SnapshotRegistry.fromFile(SNAPSHOT_FILE);

const TEST_SCHOOL_OID = '1.2.246.562.99.00000000002';
const TEST_PROVIDER_OID = '1.2.246.562.99.00000000001';

function org(fields: Partial<Organisation> & { oid: string }): Organisation {
  return { names: { fi: fields.oid }, status: 'AKTIIVINEN', types: [], ...fields };
}

/** A registry over a plain list that counts lookups (for depth and cycle checks). */
function listRegistry(orgs: Organisation[]): OrganisationRegistry & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async lookup(id) {
      calls.push(id);
      return orgs.find((o) => o.oid === id || o.schoolCode === id || o.officeCode === id);
    },
  };
}

describe('organisation snapshot', () => {
  it('is a valid snapshot file as bundled', () => {
    const parsed = snapshotFileSchema.safeParse(JSON.parse(readFileSync(SNAPSHOT_FILE, 'utf8')));
    expect(parsed.success).toBe(true);
    expect(registry.size).toBeGreaterThanOrEqual(10);
  });

  it('finds the public test school by school code and by OID', async () => {
    const byCode = await registry.lookup('30076');
    expect(byCode).toMatchObject({
      oid: TEST_SCHOOL_OID,
      names: { fi: 'Mansikkalan testi peruskoulu' },
      status: 'AKTIIVINEN',
      types: ['organisaatiotyyppi_02'],
      schoolCode: '30076',
      parentOid: TEST_PROVIDER_OID,
    });
    expect(await registry.lookup(TEST_SCHOOL_OID)).toBe(byCode);
  });

  it('finds an office by its 7-digit office code', async () => {
    expect(await registry.lookup('3007601')).toMatchObject({
      officeCode: '3007601',
      types: ['organisaatiotyyppi_03'],
      parentOid: TEST_SCHOOL_OID,
    });
  });

  it('returns closed schools with their status and closing date', async () => {
    const closed = await registry.lookup('30077');
    expect(closed).toMatchObject({ status: 'PASSIIVINEN', closingDate: '2023-07-31' });
    expect(isActive(closed!)).toBe(false);
    expect(isActive((await registry.lookup('30082'))!)).toBe(false); // SUUNNITELTU
  });

  it('answers undefined for unknown and malformed ids', async () => {
    expect(await registry.lookup('99999')).toBeUndefined();
    expect(await registry.lookup('1.2.246.562.10.99999999999')).toBeUndefined();
    expect(await registry.lookup(' 30076')).toBeUndefined();
    expect(await registry.lookup('')).toBeUndefined();
  });

  it('hands out frozen records, so a caller cannot change what others see', async () => {
    const school = (await registry.lookup('30076'))!;
    expect(Object.isFrozen(school)).toBe(true);
    expect(Object.isFrozen(school.names)).toBe(true);
    expect(Object.isFrozen(school.types)).toBe(true);
  });

  it('reports every invalid field with its path', () => {
    let error: unknown;
    try {
      SnapshotRegistry.fromJson(
        {
          organisations: [
            { oid: '1.2.246.562.99.00000000001', nimi: { fi: 'A' }, status: 'AKTIIVINEN', tyypit: [] },
            { oid: 'nope', nimi: {}, status: 'SULJETTU', oppilaitosKoodi: '123', tyyppi: [] },
          ],
        },
        'broken.json',
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SnapshotError);
    const message = (error as Error).message;
    expect(message).toContain('broken.json');
    expect(message).toContain('organisations[1].oid');
    expect(message).toContain('organisations[1].nimi');
    expect(message).toContain('organisations[1].status');
    expect(message).toContain('organisations[1].oppilaitosKoodi: must be 5 digits');
    expect(message).toContain('organisations[1]: Unrecognized key: "tyyppi"');
  });

  it('refuses duplicate OIDs and codes', () => {
    const school = { nimi: { fi: 'A' }, status: 'AKTIIVINEN', tyypit: ['organisaatiotyyppi_02'] };
    expect(() =>
      SnapshotRegistry.fromJson({
        organisations: [
          { ...school, oid: '1.2.246.562.99.00000000001', oppilaitosKoodi: '11111' },
          { ...school, oid: '1.2.246.562.99.00000000002', oppilaitosKoodi: '11111' },
        ],
      }),
    ).toThrow(/organisations\[1\]: 11111 is already used by 1\.2\.246\.562\.99\.00000000001/);
  });

  it('names a missing or non-JSON file', () => {
    expect(() => SnapshotRegistry.fromFile('/nonexistent/organisations.json')).toThrow(SnapshotError);
    expect(() => SnapshotRegistry.fromFile(fileURLToPath(import.meta.url))).toThrow(/is not JSON/);
  });
});

describe('resolveSchool', () => {
  it('resolves the test school to its provider "Mansikkalan testi kunta"', async () => {
    const resolved = await resolveSchool(registry, '30076');
    expect(resolved).toBeDefined();
    expect(resolved!.school.oid).toBe(TEST_SCHOOL_OID);
    expect(resolved!.office).toBeUndefined();
    expect(resolved!.provider.oid).toBe(TEST_PROVIDER_OID);
    expect(displayName(resolved!.provider)).toBe('Mansikkalan testi kunta');
    expect(resolved!.active).toBe(true);
    expect(await resolveSchool(registry, TEST_SCHOOL_OID)).toEqual(resolved);
  });

  it('climbs from an office to its school and provider', async () => {
    const resolved = await resolveSchool(registry, '3007601');
    expect(resolved!.office!.officeCode).toBe('3007601');
    expect(resolved!.school.schoolCode).toBe('30076');
    expect(resolved!.provider.oid).toBe(TEST_PROVIDER_OID);
    expect(resolved!.active).toBe(true);
  });

  it('follows an intermediate organisation up to the provider', async () => {
    const resolved = await resolveSchool(registry, '30090');
    expect(resolved!.school.oid).toBe('1.2.246.562.99.00000000022');
    expect(resolved!.provider.oid).toBe('1.2.246.562.99.00000000020');
    expect(displayName(resolved!.provider)).toBe('Sävelkorven testisäätiö sr');
  });

  it('resolves schools of another provider', async () => {
    expect((await resolveSchool(registry, '30081'))!.provider.oid).toBe('1.2.246.562.99.00000000010');
    expect((await resolveSchool(registry, '30078'))!.provider.oid).toBe(TEST_PROVIDER_OID);
  });

  it('resolves a closed or planned school but marks it inactive', async () => {
    const closed = await resolveSchool(registry, '30077');
    expect(closed).toMatchObject({ active: false, provider: { oid: TEST_PROVIDER_OID } });
    expect(closed!.school.status).toBe('PASSIIVINEN');
    expect((await resolveSchool(registry, '30082'))!.active).toBe(false);
  });

  it('is undefined for unknown, malformed and non-school ids', async () => {
    expect(await resolveSchool(registry, '99999')).toBeUndefined();
    expect(await resolveSchool(registry, '../30076')).toBeUndefined();
    expect(await resolveSchool(registry, TEST_PROVIDER_OID)).toBeUndefined(); // a provider is not a school
    expect(await resolveSchool(registry, '1.2.246.562.99.00000000021')).toBeUndefined(); // nor an intermediate
  });

  it('is undefined when the chain cannot be completed', async () => {
    const school = (oid: string, parentOid?: string) =>
      org({ oid, schoolCode: oid.slice(-5), types: ['organisaatiotyyppi_02'], ...(parentOid ? { parentOid } : {}) });
    const orphans = listRegistry([
      school('1.2.246.562.99.00000000101', '1.2.246.562.99.00000000199'), // parent missing
      school('1.2.246.562.99.00000000102'), // no parent at all
      school('1.2.246.562.99.00000000103', '1.2.246.562.99.00000000104'), // parent is not a provider, and has none
      org({ oid: '1.2.246.562.99.00000000104' }),
    ]);
    expect(await resolveSchool(orphans, '00101')).toBeUndefined();
    expect(await resolveSchool(orphans, '00102')).toBeUndefined();
    expect(await resolveSchool(orphans, '00103')).toBeUndefined();
  });

  it('an office marks the result inactive when the office is closed', async () => {
    const reg = listRegistry([
      org({ oid: '1.2.246.562.99.00000000201', types: ['organisaatiotyyppi_01'] }),
      org({ oid: '1.2.246.562.99.00000000202', types: ['organisaatiotyyppi_02'], parentOid: '1.2.246.562.99.00000000201' }),
      org({
        oid: '1.2.246.562.99.00000000203',
        officeCode: '1234501',
        status: 'PASSIIVINEN',
        types: ['organisaatiotyyppi_03'],
        parentOid: '1.2.246.562.99.00000000202',
      }),
    ]);
    expect(await resolveSchool(reg, '1234501')).toMatchObject({ active: false, school: { oid: '1.2.246.562.99.00000000202' } });
  });

  it('does not let an office climb past a provider to find a school', async () => {
    const reg = listRegistry([
      org({ oid: '1.2.246.562.99.00000000302', types: ['organisaatiotyyppi_02'] }),
      org({ oid: '1.2.246.562.99.00000000301', types: ['organisaatiotyyppi_01'], parentOid: '1.2.246.562.99.00000000302' }),
      org({ oid: '1.2.246.562.99.00000000303', officeCode: '7654301', types: ['organisaatiotyyppi_03'], parentOid: '1.2.246.562.99.00000000301' }),
    ]);
    expect(await resolveSchool(reg, '7654301')).toBeUndefined();
  });

  it('stops on a parent cycle', async () => {
    const a = '1.2.246.562.99.00000000401';
    const b = '1.2.246.562.99.00000000402';
    const reg = listRegistry([org({ oid: a, schoolCode: '40401', types: ['organisaatiotyyppi_02'], parentOid: b }), org({ oid: b, parentOid: a })]);
    expect(await resolveSchool(reg, '40401')).toBeUndefined();
    expect(reg.calls).toEqual(['40401', b]);
  });

  it(`follows at most ${MAX_PARENT_DEPTH} parents`, async () => {
    const oid = (n: number) => `1.2.246.562.99.${String(500 + n).padStart(11, '0')}`;
    const chain: Organisation[] = [org({ oid: oid(0), schoolCode: '50500', types: ['organisaatiotyyppi_02'], parentOid: oid(1) })];
    for (let n = 1; n <= 20; n++) chain.push(org({ oid: oid(n), parentOid: oid(n + 1) }));
    chain.push(org({ oid: oid(21), types: ['organisaatiotyyppi_01'] }));
    const reg = listRegistry(chain);
    expect(await resolveSchool(reg, '50500')).toBeUndefined();
    expect(reg.calls).toHaveLength(1 + MAX_PARENT_DEPTH);

    // Within the bound it resolves.
    const near = listRegistry([
      org({ oid: oid(0), schoolCode: '50500', types: ['organisaatiotyyppi_02'], parentOid: oid(1) }),
      ...Array.from({ length: MAX_PARENT_DEPTH - 1 }, (_, i) => org({ oid: oid(i + 1), parentOid: oid(i + 2) })),
      org({ oid: oid(MAX_PARENT_DEPTH), types: ['organisaatiotyyppi_01'] }),
    ]);
    expect((await resolveSchool(near, '50500'))!.provider.oid).toBe(oid(MAX_PARENT_DEPTH));
  });

  it('propagates registry errors instead of calling the school unknown', async () => {
    const failing: OrganisationRegistry = {
      lookup: async () => {
        throw new Error('down');
      },
    };
    await expect(resolveSchool(failing, '30076')).rejects.toThrow('down');
  });
});

describe('organisation names and ids', () => {
  it('picks Finnish, then Swedish, then English', async () => {
    expect(displayName(org({ oid: 'x', names: { fi: 'Koulu', sv: 'Skola', en: 'School' } }))).toBe('Koulu');
    expect(displayName(org({ oid: 'x', names: { sv: 'Skola', en: 'School' } }))).toBe('Skola');
    expect(displayName(org({ oid: 'x', names: { en: 'School' } }))).toBe('School');
    expect(displayName((await registry.lookup('30081'))!)).toBe('Åkerö testskola');
  });

  it('treats blank names as missing when loading', async () => {
    const reg = SnapshotRegistry.fromJson({
      organisations: [{ oid: '1.2.246.562.99.00000000001', nimi: { fi: '  ', sv: null, en: 'Only English' }, status: 'AKTIIVINEN', tyypit: [] }],
    });
    const only = (await reg.lookup('1.2.246.562.99.00000000001'))!;
    expect(only.names).toEqual({ en: 'Only English' });
    expect(displayName(only)).toBe('Only English');
  });

  it('accepts only school codes, office codes and organisation OIDs as lookup ids', () => {
    for (const ok of ['30076', '3007601', '1.2.246.562.10.12345678901', '1.2.246.562.10.123456789012', TEST_SCHOOL_OID]) {
      expect(isValidLookupId(ok)).toBe(true);
    }
    for (const bad of [
      '',
      '3007',
      '300760',
      '30076011',
      ' 30076',
      '30076\n',
      '３００７６', // full-width digits
      '../x',
      '30076/../1',
      '1.2.246.562.24.12345678901', // a learner number, not an organisation
      '1.2.246.562.10.1234567890',
      '1.2.246.562.10.1234567890123',
      '1.2.246.562.10.12345678901.',
      undefined,
      30076,
    ]) {
      expect(isValidLookupId(bad)).toBe(false);
    }
  });
});

describe('registry configuration', () => {
  it('defaults to the bundled snapshot behind the cache', async () => {
    const config = organisationRegistrySchema.parse({});
    expect(config).toMatchObject({
      source: 'snapshot',
      snapshotFile: 'config/organisations.json',
      baseUrl: 'https://virkailija.opintopolku.fi',
      callerId: 'mpassid-bridge',
      timeoutMs: 3000,
      cache: { ttlSeconds: 3600, negativeTtlSeconds: 300, staleIfErrorSeconds: 86400, maxEntries: 10000 },
    });
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    const reg = createOrganisationRegistry(config, { cwd });
    expect((await resolveSchool(reg, '30076'))!.provider.oid).toBe(TEST_PROVIDER_OID);
  });

  it('refuses unknown keys and bad values with paths', () => {
    const result = organisationRegistrySchema.safeParse({ source: 'ldap', baseUrl: 'ftp://x', cache: { ttlSecs: 1 } });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['source', 'baseUrl', 'cache']));
  });

  it('describes every key', () => {
    const shape = organisationRegistrySchema.shape;
    for (const [key, schema] of Object.entries(shape)) {
      expect([key, schema.description]).toEqual([key, expect.any(String)]);
    }
    const cacheShape = organisationRegistrySchema.shape.cache.unwrap().shape;
    for (const [key, schema] of Object.entries(cacheShape)) {
      expect([key, schema.description]).toEqual([key, expect.any(String)]);
    }
  });
});
