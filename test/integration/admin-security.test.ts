import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runAdminCli } from '../support/admin-cli.js';
import { hashPassword } from '../../src/admin/passwords.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { deepLinkLogin, RP_CLIENT, RP_REDIRECT, startFederation, type Federation } from '../support/federation.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { UserAgent } from '../support/user-agent.js';
import { testSecrets } from '../support/keys.js';

/**
 * The admin API against its attackers: password guessing (throttled per address and per username in
 * the shared Redis, before hashing, across instances), cross-site requests, an operator sending a
 * process secret or a sealed secret to a server of their choosing, and operators acting outside their
 * environment. Both bridges trust X-Forwarded-For (as behind the deployment's proxy), so each test
 * speaks from addresses of its own.
 */

const PASSWORD = 'operator-password-0123456789';
const OPERATORS = {
  admin: ['test', 'demo', 'production'],
  attacked: ['test', 'demo', 'production'],
  neighbour: ['test', 'demo', 'production'],
  roaming: ['test', 'demo', 'production'],
  tester: ['test'],
  producer: ['production'],
} as const;
type OperatorName = keyof typeof OPERATORS;

const basic = (user: string, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** A client_name a service provider chose to attack operators' terminals with: colour, title, carriage return, bidi override. */
const HOSTILE_NAME = 'Nice\u001b[2J\u001b]0;pwned\u0007 service\r\u202eevorppa\u2066';
const HOSTILE_CLIENT = {
  client_id: 'hostile-service',
  client_secret: 'hostile-service-secret-0123456789',
  client_name: HOSTILE_NAME,
  redirect_uris: [RP_REDIRECT],
};

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

describe('admin API security', () => {
  let redis: RedisServerHandle;
  let secrets: BridgeSecrets;
  let fed: Federation;
  let other: BridgeHandle;
  let separate: BridgeHandle;

  beforeAll(async () => {
    redis = await startRedisServer();
    secrets = testSecrets();
    const passwordHash = await hashPassword(PASSWORD);
    const common = {
      redis: { url: redis.url, commandTimeoutMs: 1000 },
      trustProxy: true,
      admin: { operators: Object.entries(OPERATORS).map(([username, environments]) => ({ username, passwordHash, environments: [...environments] })) },
      directories: { refreshIntervalMs: 0, healthCheckIntervalSeconds: 0 },
    };
    fed = await startFederation({ secrets, config: { ...common, clients: [RP_CLIENT, HOSTILE_CLIENT] } });
    // A second instance of the deployment (another environment, same Redis): counts failures together.
    other = await startBridge({
      secrets,
      config: { ...common, environment: 'production', testDirectory: { enabled: false }, attributeTestService: { enabled: false } },
    });
    // The recommended production layout: the admin API only on a listener of its own.
    separate = await startBridge({ secrets, adminListener: true, config: { ...common, testDirectory: { enabled: false } } });
  });

  afterAll(async () => {
    await separate?.stop();
    await other?.stop();
    await fed?.stop();
    await redis?.stop();
  });

  async function call(
    base: string,
    method: string,
    path: string,
    options: { auth?: string; from?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const response = await fetch(`${base}/admin/api${path}`, {
      method,
      headers: {
        ...(options.auth ? { authorization: options.auth } : {}),
        'x-forwarded-for': options.from ?? '198.51.100.1',
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }

  /** An operator's JSON call, as the CLI makes it. */
  const admin = (operator: OperatorName, method: string, path: string, body?: unknown, base = fed.bridge.issuer) =>
    call(base, method, path, {
      auth: basic(operator),
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });

  const wrongPassword = (username: string, from: string, base = fed.bridge.issuer) =>
    call(base, 'GET', '/clients', { auth: basic(username, 'not-the-password'), from });

  describe('password guessing', () => {
    it('answers 100 wrong passwords with 429 after the limit, without hashing them, while logins go on', async () => {
      const attacker = '203.0.113.10';
      const statuses: number[] = [];
      const throttled: Answer[] = [];
      const attack = (async () => {
        // Bursts of 20 at once: more than the verification pool takes, as in the reported incident.
        for (let burst = 0; burst < 5; burst++) {
          const answers = await Promise.all(Array.from({ length: 20 }, () => wrongPassword('attacked', attacker)));
          for (const answer of answers) {
            statuses.push(answer.status);
            if (answer.status === 429) throttled.push(answer);
          }
        }
      })();
      // Meanwhile a pupil signs in through the bridge, and services read discovery.
      const login = deepLinkLogin(fed, new UserAgent('en'), 'pupil-complete');
      const discovery = fetch(`${fed.bridge.issuer}/.well-known/openid-configuration`);
      const [, signedIn, discovered] = await Promise.all([attack, login, discovery]);
      expect(signedIn.callback.startsWith(RP_REDIRECT)).toBe(true);
      expect(new URL(signedIn.callback).searchParams.get('code')).toBeTruthy();
      expect(discovered.status).toBe(200);

      expect(statuses).toHaveLength(100);
      expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
      // At most the username's 10 failures, plus what was already past the check when the 10th was
      // counted (less than one burst): every other attempt was refused before any hashing.
      const verified = statuses.filter((s) => s === 401).length;
      expect(verified).toBeGreaterThanOrEqual(1);
      expect(verified).toBeLessThan(10 + 20);
      expect(throttled.length).toBe(100 - verified);
      // The last burst came after the limit was reached: all of it refused.
      expect(statuses.slice(-20).every((s) => s === 429)).toBe(true);
      for (const answer of throttled) {
        expect(answer.body.error).toBe('too_many_requests');
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(answer.headers.get('www-authenticate')).toBeNull();
      }
      // Nothing of the guesses is written down.
      expect(fed.bridge.logText()).not.toContain('not-the-password');
      expect(fed.bridge.logText()).not.toContain('attacked');
    });

    it('blocks the right password too while the username is limited, on every instance and from every address', async () => {
      const own = await call(fed.bridge.issuer, 'GET', '/clients', { auth: basic('attacked'), from: '203.0.113.10' });
      expect(own.status).toBe(429);
      const elsewhere = await call(other.issuer, 'GET', '/clients', { auth: basic('attacked'), from: '192.0.2.99' });
      expect(elsewhere.status).toBe(429);
      expect(elsewhere.body.error_description).toContain('for this username');
      // Other operators are not affected.
      expect((await admin('admin', 'GET', '/clients')).status).toBe(200);
    });

    it('counts a username’s failures across instances sharing Redis, from changing addresses', async () => {
      // 10 failures spread over two instances and ten addresses: no address reaches its own limit.
      for (let i = 0; i < 10; i++) {
        const answer = await wrongPassword('roaming', `192.0.2.${i + 1}`, i % 2 === 0 ? fed.bridge.issuer : other.issuer);
        expect(answer.status).toBe(401);
      }
      const next = await call(other.issuer, 'GET', '/clients', { auth: basic('roaming'), from: '192.0.2.200' });
      expect(next.status).toBe(429);
      expect(next.headers.get('retry-after')).toMatch(/^\d+$/);
    });

    it('limits one address whatever usernames it tries, also for an operator with the right password', async () => {
      const crowded = '203.0.113.20';
      for (let i = 0; i < 20; i++) expect((await wrongPassword(`guess-${i}`, crowded)).status).toBe(401);
      const blocked = await call(fed.bridge.issuer, 'GET', '/clients', { auth: basic('neighbour'), from: crowded });
      expect(blocked.status).toBe(429);
      expect(blocked.body.error_description).toContain('from this address');
      // From another address the same operator gets in.
      expect((await call(fed.bridge.issuer, 'GET', '/clients', { auth: basic('neighbour'), from: '203.0.113.21' })).status).toBe(200);
    });

    it('sends no Basic challenge, so a browser never prompts for and keeps the credentials', async () => {
      const none = await call(fed.bridge.issuer, 'GET', '/clients', { from: '203.0.113.30' });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBeNull();
      const wrong = await wrongPassword('admin', '203.0.113.31');
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toBeNull();
    });
  });

  describe('cross-site requests (CSRF)', () => {
    const issue = (headers: Record<string, string>, body?: string, auth = basic('admin')) =>
      call(fed.bridge.issuer, 'POST', '/initial-access-tokens', { auth, headers, ...(body !== undefined ? { body } : {}) });

    it('refuses state changes that are not declared JSON, also with an empty body, before authentication', async () => {
      expect((await issue({ 'content-type': 'text/plain' }, '{}')).status).toBe(415);
      expect((await issue({ 'content-type': 'application/x-www-form-urlencoded' }, 'uses=5')).status).toBe(415);
      expect((await issue({ 'content-type': 'multipart/form-data; boundary=x' }, '--x--')).status).toBe(415);
      const empty = await issue({});
      expect(empty.status).toBe(415);
      expect(empty.body.error_description).toContain('application/json');
      // A forged form is refused without the credentials ever being checked.
      expect((await issue({ 'content-type': 'text/plain' }, '{}', basic('admin', 'wrong'))).status).toBe(415);
      // The same call declared JSON works (an empty body too).
      expect((await issue({ 'content-type': 'application/json' })).status).toBe(201);
    });

    it('refuses another site’s Origin and Sec-Fetch-Site, and the approval of its own service', async () => {
      const json = { 'content-type': 'application/json' };
      const evil = await issue({ ...json, origin: 'https://evil.example' }, '{}');
      expect(evil.status).toBe(403);
      expect(evil.body.error).toBe('cross_site_request');
      expect((await issue({ ...json, origin: 'null' }, '{}')).status).toBe(403);
      expect((await issue({ ...json, 'sec-fetch-site': 'cross-site' }, '{}')).status).toBe(403);
      expect((await issue({ ...json, 'sec-fetch-site': 'same-site' }, '{}')).status).toBe(403);
      const approval = await call(fed.bridge.issuer, 'POST', `/clients/${HOSTILE_CLIENT.client_id}/suspend`, {
        auth: basic('admin'),
        headers: { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        body: '{"reason":"csrf"}',
      });
      expect(approval.status).toBe(403);
      expect((await admin('admin', 'GET', `/audit?clientId=${HOSTILE_CLIENT.client_id}`)).body.entries).toEqual([]);
      // The bridge's own pages (same origin) and API clients (no Origin) are served.
      expect((await issue({ ...json, origin: new URL(fed.bridge.issuer).origin, 'sec-fetch-site': 'same-origin' }, '{}')).status).toBe(201);
      expect((await issue(json, '{}')).status).toBe(201);
    });
  });

  describe('directory secrets', () => {
    const definition = (id: string) => ({ id, displayName: { fi: `Koulut ${id}` }, issuer: fed.directoryIdp.issuer, clientId: fed.directoryIdp.clientId });

    it('refuses clientSecretEnv outside MPASSID_DIRECTORY_SECRET_*, so process secrets cannot be sent out', async () => {
      for (const name of ['SUBJECT_SALT', 'COOKIE_KEYS', 'DIRECTORY_KEYS', 'REDIS_URL', 'UPSTREAM_SCHOOL_A_CLIENT_SECRET']) {
        const refused = await admin('admin', 'POST', '/directories', { ...definition('exfil'), issuer: 'https://attacker.example', clientSecretEnv: name });
        expect(refused.status).toBe(400);
        expect(refused.body.error_description).toContain('MPASSID_DIRECTORY_SECRET_');
      }
      expect((await admin('admin', 'GET', '/directories/exfil')).status).toBe(404);
      const created = await admin('admin', 'POST', '/directories', { ...definition('env-city'), clientSecretEnv: 'MPASSID_DIRECTORY_SECRET_ENV_CITY' });
      expect(created.status).toBe(201);
      expect(created.body.clientSecret).toEqual({ kind: 'env', name: 'MPASSID_DIRECTORY_SECRET_ENV_CITY' });
      const repointed = await admin('admin', 'PATCH', '/directories/env-city', { clientSecretEnv: 'SUBJECT_SALT' });
      expect(repointed.status).toBe(400);
    });

    it('needs the secret again when the issuer changes: a sealed secret never goes to a new issuer', async () => {
      expect((await admin('admin', 'POST', '/directories', { ...definition('sealed-city'), clientSecret: 'the-original-secret' })).status).toBe(201);
      const moved = await admin('admin', 'PATCH', '/directories/sealed-city', { issuer: 'https://attacker.example' });
      expect(moved.status).toBe(400);
      expect(moved.body.error_description).toContain('a changed issuer needs the client secret again');
      expect((await admin('admin', 'GET', '/directories/sealed-city')).body.issuer).toBe(fed.directoryIdp.issuer);
      // Other fields change without the secret.
      expect((await admin('admin', 'PATCH', '/directories/sealed-city', { displayName: { fi: 'Uusi nimi' } })).status).toBe(200);
      // With the secret given again, the issuer changes; the secret is sealed for the new issuer.
      const withSecret = await admin('admin', 'PATCH', '/directories/sealed-city', { issuer: 'https://new-idp.example', clientSecret: 'the-new-secret' });
      expect(withSecret.status).toBe(200);
      expect(withSecret.body.detail.changed).toEqual(expect.arrayContaining(['issuer', 'clientSecret']));
      const record = (await fed.bridge.bridge.directories.get('sealed-city'))!;
      expect(record.secret).toMatchObject({ kind: 'sealed', binding: 'id+issuer' });
      expect(fed.bridge.bridge.directories.secretOf(record)).toBe('the-new-secret');
      // The sealed value on a record pointed elsewhere behind the API's back does not open.
      expect(() =>
        fed.bridge.bridge.directories.secretOf({
          ...record,
          definition: { ...record.definition, issuer: 'https://attacker.example' } as typeof record.definition,
        }),
      ).toThrow(/does not open/);
      // The same for a secret held in an environment variable.
      const envMoved = await admin('admin', 'PATCH', '/directories/env-city', { issuer: 'https://attacker.example' });
      expect(envMoved.status).toBe(400);
    });
  });

  describe('operator environments', () => {
    it('lets an operator of test prepare, never approve for production', async () => {
      const approve = await admin('tester', 'POST', `/clients/${RP_CLIENT.client_id}/approve`, {});
      expect(approve.status).toBe(403);
      expect(approve.body.error_description).toContain('production');
      expect((await admin('tester', 'POST', `/clients/${RP_CLIENT.client_id}/publish-to-demo`, {})).status).toBe(403);
      expect((await admin('tester', 'PATCH', `/clients/${RP_CLIENT.client_id}/settings`, { allowTestLearnerIds: true })).status).toBe(403);
      // The same refusal through the production environment's own bridge: the action decides, not the endpoint.
      expect((await admin('tester', 'POST', `/clients/${RP_CLIENT.client_id}/suspend`, {}, other.issuer)).status).toBe(403);

      expect((await admin('tester', 'POST', '/initial-access-tokens', {})).status).toBe(201);
      expect(
        (
          await admin('tester', 'POST', '/directories', {
            id: 'tester-city',
            displayName: { fi: 'Testikaupunki' },
            issuer: fed.directoryIdp.issuer,
            clientId: 'x',
            clientSecret: 'y',
          })
        ).status,
      ).toBe(201);
      expect((await admin('tester', 'POST', '/directories/tester-city/start-testing', {})).status).toBe(200);
      expect((await admin('tester', 'POST', '/directories/tester-city/check-links', {})).status).toBe(201);
      const approveDirectory = await admin('tester', 'POST', '/directories/tester-city/approve', { withoutEvidence: true, reason: 'trust me' });
      expect(approveDirectory.status).toBe(403);
      expect((await admin('tester', 'POST', '/directories/tester-city/suspend', {})).status).toBe(403);
      // Reading is for every operator.
      expect((await admin('tester', 'GET', '/clients')).status).toBe(200);

      // An operator of production approves, and is not the one who prepares.
      expect(
        (
          await admin('producer', 'POST', '/directories', {
            id: 'producer-city',
            displayName: { fi: 'x' },
            issuer: fed.directoryIdp.issuer,
            clientId: 'x',
            clientSecret: 'y',
          })
        ).status,
      ).toBe(403);
      expect((await admin('producer', 'POST', '/directories/tester-city/suspend', { reason: 'not ready' })).status).toBe(200);
      const log = (await admin('admin', 'GET', '/audit?directoryId=tester-city')).body.entries as Array<{ operator: string; action: string }>;
      expect(log.map((e) => [e.operator, e.action])).toEqual(
        expect.arrayContaining([
          ['tester', 'create'],
          ['tester', 'start-testing'],
          ['producer', 'suspend'],
        ]),
      );
    });
  });

  describe('admin listener (admin.port)', () => {
    it('serves the admin API only on its own port', async () => {
      expect(separate.adminUrl).toBeDefined();
      const listed = await admin('admin', 'GET', '/clients', undefined, separate.adminUrl!);
      expect(listed.status).toBe(200);
      const issued = await admin('admin', 'POST', '/initial-access-tokens', {}, separate.adminUrl!);
      expect(issued.status).toBe(201);
      // Links handed out still name the public issuer.
      expect(issued.body.registrationEndpoint).toBe(`${separate.issuer}/reg`);
      const publicSide = await admin('admin', 'GET', '/clients', undefined, separate.issuer);
      expect(publicSide.status).toBe(404);
      expect((await admin('admin', 'POST', '/initial-access-tokens', {}, separate.issuer)).status).toBe(404);
      // The public port still serves logins.
      expect((await fetch(`${separate.issuer}/.well-known/openid-configuration`)).status).toBe(200);
      const elsewhere = await fetch(`${separate.adminUrl}/.well-known/openid-configuration`);
      expect(elsewhere.status).toBe(404);
    });
  });

  describe('CLI', () => {
    const cli = (args: string[]) => runAdminCli({ url: fed.bridge.issuer, user: 'admin', password: PASSWORD }, args);

    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

    it('prints what services named themselves without their control characters', async () => {
      const shown = await cli(['show', HOSTILE_CLIENT.client_id]);
      expect(shown.stderr).toBe('');
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain('Nice');
      expect(shown.stdout).not.toMatch(CONTROL);
      // Visible instead: the operator sees that something was there.
      expect(shown.stdout).toContain('u{1b}');
      expect(shown.stdout).toContain('u{202e}');
      const listed = await cli(['list']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toMatch(CONTROL);
    });
  });
});
