import { metrics } from '../../src/observability/metrics.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  CachedRegistry,
  OphHttpRegistry,
  RegistryUnavailableError,
  createOrganisationRegistry,
  organisationRegistrySchema,
  resolveSchool,
} from '../../src/organisations/index.js';

/**
 * A stand-in for the Opetushallitus organisation service on a free loopback port, answering in the
 * real API's shape (with the many fields the bridge ignores).
 */

const PROVIDER_OID = '1.2.246.562.99.00000000001';
const SCHOOL_OID = '1.2.246.562.99.00000000002';
const OFFICE_OID = '1.2.246.562.99.00000000003';
const CLOSED_OID = '1.2.246.562.99.00000000004';
const CALLER_ID = '1.2.246.562.10.00000000001.mpassid-bridge-test';
const CLIENT_TIMEOUT_MS = 1000;

/** Fields the real service sends that the bridge does not use: they must be ignored. */
const noise = {
  version: 7,
  alkuPvm: '2001-08-01',
  kieletUris: ['oppilaitoksenopetuskieli_1#2'],
  kotipaikkaUri: 'kunta_999',
  yhteystiedot: [{ kieli: 'kieli_fi#1', osoite: 'Testitie 1', postinumeroUri: 'posti_00000' }],
  nimet: [{ nimi: { fi: 'Vanha nimi' }, alkuPvm: '2001-08-01', version: 0 }],
  oppilaitosTyyppiUri: 'oppilaitostyyppi_11#1',
  toimipistekoodi: null,
};

const provider = {
  ...noise,
  oid: PROVIDER_OID,
  nimi: { fi: 'Mansikkalan testi kunta', sv: 'Mansikkala testkommun' },
  status: 'AKTIIVINEN',
  tyypit: ['organisaatiotyyppi_01', 'organisaatiotyyppi_09'],
  parentOid: '1.2.246.562.10.00000000001',
  parentOidPath: '|1.2.246.562.10.00000000001|',
};
const school = {
  ...noise,
  oid: SCHOOL_OID,
  nimi: { fi: 'Mansikkalan testi peruskoulu', sv: '', en: null },
  status: 'AKTIIVINEN',
  tyypit: ['organisaatiotyyppi_02'],
  oppilaitosKoodi: '30076',
  parentOid: PROVIDER_OID,
  parentOidPath: `|1.2.246.562.10.00000000001|${PROVIDER_OID}|`,
};
const office = {
  ...noise,
  oid: OFFICE_OID,
  nimi: { fi: 'Mansikkalan testi peruskoulu, Mäntymäen toimipiste' },
  status: 'AKTIIVINEN',
  tyypit: ['organisaatiotyyppi_03'],
  toimipistekoodi: '3007601',
  parentOid: SCHOOL_OID,
};
const closedSchool = {
  ...noise,
  oid: CLOSED_OID,
  nimi: { fi: 'Mansikkalan testi alakoulu' },
  status: 'PASSIIVINEN',
  // Older API versions send dates as epoch milliseconds: midnight in Helsinki, 31 July 2023.
  lakkautusPvm: Date.UTC(2023, 6, 30, 21, 0, 0),
  tyypit: ['organisaatiotyyppi_02'],
  oppilaitosKoodi: '30077',
  parentOid: PROVIDER_OID,
};

type Reply = (res: ServerResponse) => void;
const json =
  (body: unknown): Reply =>
  (res) => {
    res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify(body));
  };
const raw =
  (status: number, body: string, type = 'application/json'): Reply =>
  (res) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };

const routes: Record<string, Reply> = {
  '30076': json(school),
  [SCHOOL_OID]: json(school),
  [PROVIDER_OID]: json(provider),
  '3007601': json(office),
  [OFFICE_OID]: json(office),
  '30077': json(closedSchool),
  [CLOSED_OID]: json(closedSchool),
  '30001': () => {
    // Never answers: the client's timeout must end the request (the socket is destroyed at close).
  },
  '30002': raw(500, '{"message":"internal error"}'),
  '30003': raw(200, '{"oid": "1.2.246.562.99.0000'),
  '30004': json({ oid: '30004', nimi: 'Koulu', status: 'AUKI', tyypit: 'organisaatiotyyppi_02' }),
  '30005': raw(200, ''),
  '30006': raw(200, 'null'),
  '30007': json({ ...school, oppilaitosKoodi: '30007', filler: 'x'.repeat(300 * 1024) }),
  '30008': json(school), // a record about 30076 when 30008 was asked: a confused proxy or service
  '30009': raw(200, '<!doctype html><title>Kirjaudu</title>', 'text/html'),
  '30010': raw(403, 'Forbidden', 'text/plain'),
  '30011': (res) => {
    // Chunked, without Content-Length: the limit must hold while streaming.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"filler":"');
    for (let i = 0; i < 40; i++) res.write('x'.repeat(16 * 1024));
    res.end('"}');
  },
};

interface RecordedRequest {
  id: string;
  method: string;
  headers: IncomingHttpHeaders;
}

interface FakeOph {
  baseUrl: string;
  requests: RecordedRequest[];
  /** `fail`: every request answers 500, as during an outage. */
  mode: 'normal' | 'fail' | 'hang';
  countFor(id: string): number;
  close(): Promise<void>;
}

async function startFakeOph(): Promise<FakeOph> {
  const sockets = new Set<Socket>();
  const state: FakeOph = {
    baseUrl: '',
    requests: [],
    mode: 'normal',
    countFor: (id) => state.requests.filter((r) => r.id === id).length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Requests that never got an answer (the slow id) would keep close() waiting forever.
        for (const socket of sockets) socket.destroy();
      }),
  };
  const prefix = '/organisaatio-service/api/';
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const id = path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : `!${path}`;
    state.requests.push({ id, method: req.method ?? '', headers: req.headers });
    if (state.mode === 'fail') return raw(500, 'down')(res);
    // Never answers (the client's timeout ends the wait); the socket is closed when the server stops.
    if (state.mode === 'hang') return;
    const reply = routes[id];
    if (!reply) return raw(404, '{"errorMessage":"organisaatio.exception.organisaatio.not.found"}')(res);
    reply(res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

async function unavailable(promise: Promise<unknown>): Promise<RegistryUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RegistryUnavailableError);
  return error as RegistryUnavailableError;
}

let oph: FakeOph;
let client: OphHttpRegistry;

beforeAll(async () => {
  oph = await startFakeOph();
  client = new OphHttpRegistry({ baseUrl: `${oph.baseUrl}/`, callerId: CALLER_ID, timeoutMs: CLIENT_TIMEOUT_MS });
});
afterAll(async () => {
  await oph.close();
});
beforeEach(() => {
  oph.mode = 'normal';
});

describe('OphHttpRegistry against a local organisation service', () => {
  it('maps an active school, ignoring fields it does not use', async () => {
    const found = await client.lookup('30076');
    expect(found).toEqual({
      oid: SCHOOL_OID,
      names: { fi: 'Mansikkalan testi peruskoulu' },
      status: 'AKTIIVINEN',
      types: ['organisaatiotyyppi_02'],
      schoolCode: '30076',
      parentOid: PROVIDER_OID,
      parentOidPath: `|1.2.246.562.10.00000000001|${PROVIDER_OID}|`,
    });
  });

  it('sends the Caller-Id and Accept headers with a GET', async () => {
    await client.lookup(PROVIDER_OID);
    const request = oph.requests.findLast((r) => r.id === PROVIDER_OID)!;
    expect(request.method).toBe('GET');
    expect(request.headers['caller-id']).toBe(CALLER_ID);
    expect(request.headers.accept).toBe('application/json');
  });

  it('resolves the school to its provider over HTTP', async () => {
    const resolved = await resolveSchool(client, '30076');
    expect(resolved).toMatchObject({ active: true, school: { oid: SCHOOL_OID }, provider: { oid: PROVIDER_OID } });
    expect(resolved!.provider.names.fi).toBe('Mansikkalan testi kunta');
    const viaOffice = await resolveSchool(client, '3007601');
    expect(viaOffice).toMatchObject({ active: true, office: { oid: OFFICE_OID }, school: { oid: SCHOOL_OID } });
  });

  it('returns a closed school with its status and a closing date in Finnish time', async () => {
    const closed = await client.lookup('30077');
    expect(closed).toMatchObject({ status: 'PASSIIVINEN', closingDate: '2023-07-31' });
    expect(await resolveSchool(client, '30077')).toMatchObject({ active: false, provider: { oid: PROVIDER_OID } });
  });

  it('answers undefined for 404, an empty body and null', async () => {
    expect(await client.lookup('99999')).toBeUndefined();
    expect(oph.countFor('99999')).toBe(1);
    expect(await client.lookup('30005')).toBeUndefined();
    expect(await client.lookup('30006')).toBeUndefined();
  });

  it('never sends an id that is not a school code, office code or OID', async () => {
    const before = oph.requests.length;
    for (const id of ['../x', '../../organisaatio-service/api/30076', '30076/../1', '%2e%2e', '30076?x=1', ' 30076', '']) {
      expect(await client.lookup(id)).toBeUndefined();
    }
    expect(oph.requests.length).toBe(before);
    expect(oph.requests.every((r) => !r.id.startsWith('!'))).toBe(true);
  });

  it('throws RegistryUnavailableError on timeout', async () => {
    const error = await unavailable(client.lookup('30001'));
    expect(error.reason).toBe('timeout');
    expect(error.cause).toBeDefined();
  });

  it('throws RegistryUnavailableError on 5xx and other unexpected statuses', async () => {
    expect(await unavailable(client.lookup('30002'))).toMatchObject({ reason: 'http_status', status: 500 });
    expect(await unavailable(client.lookup('30010'))).toMatchObject({ reason: 'http_status', status: 403 });
  });

  it('throws RegistryUnavailableError on bodies that are not a valid organisation', async () => {
    const notJson = await unavailable(client.lookup('30003'));
    expect(notJson.reason).toBe('invalid_response');
    expect(notJson.cause).toBeInstanceOf(SyntaxError);

    const wrongShape = await unavailable(client.lookup('30004'));
    expect(wrongShape.reason).toBe('invalid_response');
    expect(wrongShape.message).toMatch(/oid/);
    expect(wrongShape.message).toMatch(/status/);
    expect(wrongShape.cause).toBeDefined();

    expect((await unavailable(client.lookup('30007'))).message).toMatch(/larger than/);
    expect((await unavailable(client.lookup('30011'))).message).toMatch(/larger than/);
    expect((await unavailable(client.lookup('30008'))).message).toMatch(/different organisation/);
    expect((await unavailable(client.lookup('30009'))).reason).toBe('invalid_response');
  });

  it('throws RegistryUnavailableError when nothing listens', async () => {
    const gone = await startFakeOph();
    await gone.close();
    const offline = new OphHttpRegistry({ baseUrl: gone.baseUrl, callerId: CALLER_ID, timeoutMs: CLIENT_TIMEOUT_MS });
    const error = await unavailable(offline.lookup('30076'));
    expect(error.reason).toBe('network');
    expect(error.cause).toBeDefined();
  });

  it('refuses a bad configuration at construction', () => {
    expect(() => new OphHttpRegistry({ baseUrl: 'file:///etc', callerId: CALLER_ID })).toThrow(TypeError);
    expect(() => new OphHttpRegistry({ baseUrl: oph.baseUrl, callerId: 'two words' })).toThrow(TypeError);
    expect(() => new OphHttpRegistry({ baseUrl: oph.baseUrl, callerId: 'x\r\nInjected: 1' })).toThrow(TypeError);
  });
});

/** The cache's lookup counter for one result. */
async function counterValue(result: string): Promise<number> {
  const values = (await metrics.organisationLookups.get()).values;
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('CachedRegistry in front of the local organisation service', () => {
  const TTL = 60_000;
  const NEGATIVE_TTL = 10_000;
  const STALE = 600_000;
  let clock: number;
  const now = () => clock;
  // retryAfterFailureMs 0: no circuit breaker unless a test asks for one.
  const cached = (options: { maxEntries?: number; baseUrl?: string; retryAfterFailureMs?: number } = {}) =>
    new CachedRegistry(new OphHttpRegistry({ baseUrl: options.baseUrl ?? oph.baseUrl, callerId: CALLER_ID, timeoutMs: CLIENT_TIMEOUT_MS }), {
      ttlMs: TTL,
      negativeTtlMs: NEGATIVE_TTL,
      staleIfErrorMs: STALE,
      now,
      retryAfterFailureMs: 0,
      ...options,
    });

  beforeEach(() => {
    clock = 1_000_000;
  });

  it('serves a hit without a second request, and asks again after the TTL', async () => {
    const cache = cached();
    const before = oph.countFor(PROVIDER_OID);
    const first = await cache.lookup(PROVIDER_OID);
    clock += TTL - 1;
    expect(await cache.lookup(PROVIDER_OID)).toBe(first);
    expect(oph.countFor(PROVIDER_OID)).toBe(before + 1);

    clock += 1;
    // Past the TTL: the answer on hand at once, the registry asked in the background.
    expect(await cache.lookup(PROVIDER_OID)).toBe(first);
    await cache.settled();
    expect(oph.countFor(PROVIDER_OID)).toBe(before + 2);
    expect(await cache.lookup(PROVIDER_OID)).toEqual(first);
    expect(oph.countFor(PROVIDER_OID)).toBe(before + 2);
  });

  it('remembers unknown ids for the shorter negative TTL', async () => {
    const cache = cached();
    const before = oph.countFor('99999');
    expect(await cache.lookup('99999')).toBeUndefined();
    clock += NEGATIVE_TTL - 1;
    expect(await cache.lookup('99999')).toBeUndefined();
    expect(oph.countFor('99999')).toBe(before + 1);
    clock += 1;
    expect(await cache.lookup('99999')).toBeUndefined();
    await cache.settled();
    expect(oph.countFor('99999')).toBe(before + 2);
  });

  it('serves a recently seen school while the service fails, and the error once it is too old', async () => {
    const cache = cached();
    const fresh = await cache.lookup('30076');
    oph.mode = 'fail';
    clock += TTL + 1; // expired, so the service is asked (in the background) and fails
    const before = oph.countFor('30076');
    expect(await cache.lookup('30076')).toBe(fresh);
    await cache.settled();
    expect(oph.countFor('30076')).toBe(before + 1);

    clock += STALE; // now older than the stale-if-error window
    expect((await unavailable(cache.lookup('30076'))).status).toBe(500);
  });

  it('serves stale entries when the service is gone altogether', async () => {
    const own = await startFakeOph();
    try {
      const cache = cached({ baseUrl: own.baseUrl });
      const resolved = await resolveSchool(cache, '30076');
      await own.close();
      clock += TTL * 2;
      expect(await resolveSchool(cache, '30076')).toEqual(resolved);
      expect((await unavailable(cache.lookup('30078'))).reason).toBe('network');
    } finally {
      await own.close().catch(() => undefined);
    }
  });

  it('propagates the error when nothing stale exists, and does not cache it', async () => {
    const cache = cached();
    oph.mode = 'fail';
    await unavailable(cache.lookup('30077'));
    expect(cache.size).toBe(0);
    oph.mode = 'normal';
    expect(await cache.lookup('30077')).toMatchObject({ status: 'PASSIIVINEN' });
  });

  it('does not cache an invalid body as unknown', async () => {
    const cache = cached();
    await unavailable(cache.lookup('30004'));
    const before = oph.countFor('30004');
    await unavailable(cache.lookup('30004'));
    expect(oph.countFor('30004')).toBe(before + 1);
  });

  it('keeps at most maxEntries ids, evicting the least recently used', async () => {
    const cache = cached({ maxEntries: 2 });
    const count = () => [SCHOOL_OID, PROVIDER_OID, OFFICE_OID].map((id) => oph.countFor(id));
    const start = count();
    await cache.lookup(SCHOOL_OID);
    await cache.lookup(PROVIDER_OID);
    await cache.lookup(SCHOOL_OID); // hit: the provider is now the least recently used
    await cache.lookup(OFFICE_OID); // evicts the provider
    expect(cache.size).toBe(2);
    await cache.lookup(SCHOOL_OID); // still cached
    await cache.lookup(PROVIDER_OID); // asked again
    const delta = count().map((n, i) => n - start[i]!);
    expect(delta).toEqual([1, 2, 1]);
  });

  it('shares one request among concurrent lookups of the same id', async () => {
    const cache = cached();
    const before = oph.countFor(CLOSED_OID);
    const [a, b, c] = await Promise.all([cache.lookup(CLOSED_OID), cache.lookup(CLOSED_OID), cache.lookup(CLOSED_OID)]);
    expect(a).toBeDefined();
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(oph.countFor(CLOSED_OID)).toBe(before + 1);
  });

  it('shares one failing request too, and the next lookup asks again', async () => {
    const cache = cached();
    const before = oph.countFor('30002');
    const results = await Promise.allSettled([cache.lookup('30002'), cache.lookup('30002')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(oph.countFor('30002')).toBe(before + 1);
    await unavailable(cache.lookup('30002'));
    expect(oph.countFor('30002')).toBe(before + 2);
  });

  it('serves expired entries at once while the registry hangs, and asks it at most once per interval (circuit breaker)', async () => {
    const cache = cached({ retryAfterFailureMs: 30_000 });
    const school = await cache.lookup('30076');
    const provider = await cache.lookup(PROVIDER_OID);
    oph.mode = 'hang';
    try {
      clock += TTL + 1;
      const before = oph.countFor('30076') + oph.countFor(PROVIDER_OID) + oph.countFor('30078');
      const staleBefore = await counterValue('stale');
      // Every answer on hand is served without waiting for the registry.
      const [a, b] = await Promise.all([cache.lookup('30076'), cache.lookup(PROVIDER_OID)]);
      expect(a).toBe(school);
      expect(b).toBe(provider);
      expect((await counterValue('stale')) - staleBefore).toBe(2);
      await cache.settled(); // the background refreshes time out: the breaker opens
      // While it is open: stale answers without asking, and an id never seen fails at once.
      expect(await cache.lookup('30076')).toBe(school);
      expect((await unavailable(cache.lookup('30078'))).reason).toBe('timeout');
      await cache.settled();
      const asked = oph.countFor('30076') + oph.countFor(PROVIDER_OID) + oph.countFor('30078') - before;
      expect(asked).toBe(2);
      // After the interval the registry is tried again (once more in the background).
      clock += 30_000;
      expect(await cache.lookup('30076')).toBe(school);
      await cache.settled();
      expect(oph.countFor('30076') + oph.countFor(PROVIDER_OID) + oph.countFor('30078') - before).toBe(3);
    } finally {
      oph.mode = 'normal';
    }
  });

  it('is what the factory builds for source "http"', async () => {
    const config = organisationRegistrySchema.parse({
      source: 'http',
      baseUrl: oph.baseUrl,
      callerId: CALLER_ID,
      timeoutMs: CLIENT_TIMEOUT_MS,
      cache: { ttlSeconds: 60 },
    });
    const registry = createOrganisationRegistry(config, { now });
    expect(registry).toBeInstanceOf(CachedRegistry);
    const before = oph.countFor('3007601');
    const resolved = await resolveSchool(registry, '3007601');
    await resolveSchool(registry, '3007601');
    expect(resolved).toMatchObject({ office: { officeCode: '3007601' }, provider: { oid: PROVIDER_OID } });
    expect(oph.countFor('3007601')).toBe(before + 1);
  });
});
