import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { configuredDirectories } from '../../src/directories/configured.js';
import { configuredServices } from '../../src/services/configured.js';

/** A production configuration with every required setting. */
const PRODUCTION = {
  env: 'production',
  issuer: 'https://mpassid.example',
  secrets: { jwksFile: '/run/secrets/jwks.json', cookieKeys: ['k'.repeat(32)], subjectSalt: 's'.repeat(32) },
  redis: { url: 'redis://redis:6379' },
  testDirectory: { enabled: false },
  attributeTestService: { enabled: false },
  organisations: { source: 'http' },
};

/** What the bridge checks at start: the file's settings, then the directories and services it lists. */
function checkAll(raw: unknown): void {
  const config = parseConfig(raw);
  configuredDirectories(config);
  configuredServices(config);
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function tempFile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mpassid-config-')), 'bridge.json');
  writeFileSync(file, content);
  return file;
}

describe('configuration', () => {
  it('has working defaults for development', () => {
    const config = parseConfig({});
    expect(config.env).toBe('development');
    expect(config.port).toBe(3000);
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.redis.url).toBeUndefined();
    expect(config.testDirectory.enabled).toBe(true);
    expect(config.ttl.sessionSeconds).toBeLessThanOrEqual(3600);
  });

  it('reports every invalid setting at once, each with its path', () => {
    const problems = problemsOf(() =>
      parseConfig({
        port: 'eighty',
        issuer: 'not a url',
        redis: { mode: 'cluster', commandTimeoutMs: -1 },
        upstreams: [{ id: 'Bad Id', displayName: { fi: 'x' }, issuer: 'https://a.example', clientId: 'c' }],
        unknownSetting: true,
      }),
    );
    const paths = problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(expect.arrayContaining(['port', 'issuer', 'redis.commandTimeoutMs', '(root)']));
    expect(problems.length).toBeGreaterThanOrEqual(4);
    // A directory's settings depend on its type: they are checked next, with the same paths.
    const directoryProblems = problemsOf(() =>
      checkAll({
        upstreams: [
          { id: 'Bad Id', displayName: { fi: 'x' }, issuer: 'https://a.example', clientId: 'c' },
          { id: 'wilma-school', type: 'wilma', displayName: { fi: 'x' } },
        ],
      }),
    );
    expect(directoryProblems.map((p) => p.split(':')[0])).toEqual(expect.arrayContaining(['upstreams.0.id', 'upstreams.1.baseUrl']));
  });

  it('refuses a service released a claim the bridge does not have', () => {
    const problems = problemsOf(() =>
      checkAll({
        clients: [{ client_id: 'svc', client_secret: 's'.repeat(32), redirect_uris: ['https://svc.example/cb'], releasedClaims: ['given_name', 'shoe_size'] }],
      }),
    );
    expect(problems).toEqual(['clients.0.releasedClaims: "shoe_size" is not a claim the bridge releases']);
  });

  it('refuses development defaults in production', () => {
    const problems = problemsOf(() => parseConfig({ env: 'production', issuer: 'http://bridge.example' }));
    expect(problems).toEqual(
      expect.arrayContaining([
        'issuer: must be https in production',
        expect.stringMatching(/^secrets\.jwksFile:/),
        expect.stringMatching(/^secrets\.cookieKeys:/),
        expect.stringMatching(/^secrets\.subjectSalt:/),
        expect.stringMatching(/^testDirectory\.enabled:/),
        expect.stringMatching(/^redis\.url:/),
        expect.stringMatching(/^organisations\.source:/),
      ]),
    );
  });

  it('accepts a complete production configuration', () => {
    const config = parseConfig(PRODUCTION);
    expect(config.env).toBe('production');
  });

  it('refuses a test-only directory and an http directory in production', () => {
    const school = { id: 'school', displayName: { fi: 'Koulu' }, issuer: 'http://school.example', clientId: 'c', logoUri: 'http://school.example/logo.png' };
    const production = { ...PRODUCTION, environment: 'production' };
    const problems = problemsOf(() =>
      checkAll({
        ...production,
        secrets: {},
        upstreams: [{ ...school, testOnly: true }],
        admin: { operators: [{ username: 'op', passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA' }] },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'upstreams.0.testOnly: test directories are not allowed in production',
        expect.stringMatching(/^secrets\.directoryKeys: operators can add directories/),
      ]),
    );
    expect(problemsOf(() => checkAll({ ...production, upstreams: [school] }))).toEqual([
      'upstreams.0.issuer: must be https in production',
      'upstreams.0.logoUri: must be https in production',
    ]);
  });

  it('reads directory keys from DIRECTORY_KEYS and refuses malformed ones', () => {
    const key = 'k'.repeat(43);
    expect(loadConfig({ DIRECTORY_KEYS: `${key}, ${'j'.repeat(43)}` }, '/nonexistent-dir').secrets.directoryKeys).toEqual([key, 'j'.repeat(43)]);
    expect(problemsOf(() => parseConfig({ secrets: { directoryKeys: ['short'] } }))[0]).toMatch(/^secrets\.directoryKeys\.0:/);
  });

  it('serves several environments, each its own issuer, and checks them', () => {
    const config = parseConfig({
      environments: [
        { name: 'test', issuer: 'http://localhost:3000/test' },
        { name: 'production', issuer: 'http://localhost:3000/production' },
      ],
    });
    expect(config.environments?.map((e) => e.name)).toEqual(['test', 'production']);
    const problems = problemsOf(() =>
      parseConfig({
        env: 'production',
        environments: [
          { name: 'test', issuer: 'https://mpassid.example/test', jwksFile: 'test.json' },
          { name: 'test', issuer: 'http://mpassid.example/test' },
        ],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'environments.1.name: "test" is served twice',
        'environments.1.issuer: another environment has the same issuer',
        'environments.1.issuer: must be https in production',
        "environments.1.jwksFile: each environment's signing keys must be provided in production",
      ]),
    );
  });

  it('refuses a role vocabulary where one input means two roles', () => {
    const problems = problemsOf(() =>
      parseConfig({
        roles: [
          { code: '1', text: 'Oppilas', inputs: ['oppilas'] },
          { code: '2', text: 'Opettaja', inputs: ['Oppilas'] },
        ],
      }),
    );
    expect(problems).toEqual(['roles.1.inputs: "Oppilas" is also an input of roles.0']);
  });

  it('catches attribute mapping mistakes at start-up', () => {
    const problems = problemsOf(() =>
      checkAll({
        upstreams: [
          { id: 'school', displayName: { fi: 'Koulu' }, issuer: 'https://a.example', clientId: 'c', attributeMapping: { learnerNumber: 'x', roles: [] } },
        ],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^upstreams\.0\.attributeMapping:.*learnerNumber/),
        expect.stringMatching(/^upstreams\.0\.attributeMapping\.roles/),
      ]),
    );
  });

  it('names the port in the default issuer when only the port is given', () => {
    expect(loadConfig({ PORT: '4100' }, '/nonexistent-dir').issuer).toBe('http://localhost:4100');
    expect(loadConfig({}, '/nonexistent-dir').issuer).toBe('http://localhost:3000');
    expect(loadConfig({ PORT: '4100', ISSUER: 'http://127.0.0.1:9000' }, '/nonexistent-dir').issuer).toBe('http://127.0.0.1:9000');
  });

  it('reads the file named by CONFIG_FILE and applies environment overrides', () => {
    const file = tempFile(JSON.stringify({ port: 4000, logLevel: 'warn' }));
    const config = loadConfig({ CONFIG_FILE: file, PORT: '4100', REDIS_URL: 'redis://127.0.0.1:7000', ISSUER: 'http://127.0.0.1:4100' });
    expect(config.port).toBe(4100);
    expect(config.logLevel).toBe('warn');
    expect(config.redis.url).toBe('redis://127.0.0.1:7000');
    expect(config.issuer).toBe('http://127.0.0.1:4100');
  });

  it('reports a missing or malformed config file readably', () => {
    expect(problemsOf(() => loadConfig({ CONFIG_FILE: '/nonexistent/bridge.json' }))[0]).toMatch(/^CONFIG_FILE: cannot read/);
    expect(problemsOf(() => loadConfig({ CONFIG_FILE: tempFile('{ not json') }))[0]).toMatch(/^CONFIG_FILE: .* is not valid JSON/);
    expect(problemsOf(() => loadConfig({ CONFIG_FILE: tempFile('[1,2]') }))[0]).toMatch(/must hold a JSON object/);
  });

  it('makes the process exit non-zero and print the paths of invalid settings', () => {
    const file = tempFile(JSON.stringify({ port: -5, redis: { mode: 'sentinel' } }));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, CONFIG_FILE: file, NODE_ENV: 'development' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('invalid configuration');
    expect(run.stderr).toContain('port:');
    expect(run.stderr).toContain('redis.sentinels:');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
