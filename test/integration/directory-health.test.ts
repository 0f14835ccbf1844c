import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashPassword } from '../../src/admin/passwords.js';
import { RP_CLIENT, RP_REDIRECT, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { UserAgent, type Page } from '../support/user-agent.js';
import { eventually } from '../support/eventually.js';

const OPERATOR = { username: 'operator', password: 'operator-password-0123456789' };
const AUTH = `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`;

/** A directory that goes down is reported to operators with the reason, and marked in the chooser. */
describe('directory health', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation({
      config: {
        admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
        // Checked on demand here (POST /directories/health-check); the background round is tested below.
        directories: { healthCheckIntervalSeconds: 0 },
      },
    });
  });

  afterAll(async () => {
    await fed?.stop();
  });

  async function healthCheck(): Promise<Record<string, Record<string, unknown>>> {
    const response = await fetch(`${fed.bridge.issuer}/admin/api/directories/health-check`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { health: Array<Record<string, unknown>> };
    return Object.fromEntries(body.health.map((h) => [String(h.id), h]));
  }

  async function chooser(): Promise<Page> {
    const request = await fed.rp.authorizationRequest();
    return new UserAgent().navigate(request.url.href, { stopAt: RP_REDIRECT });
  }

  /** The chooser's list item of a directory (its link carries data-directory). */
  function itemOf(page: Page, directoryId: string): string {
    const items = page.body.split(/<li\b/).filter((item) => item.includes(`data-directory="${directoryId}"`));
    expect(items.length).toBeGreaterThan(0);
    return items.at(-1)!;
  }

  it('reports a reachable directory up, with its discovery and keys', async () => {
    const health = await healthCheck();
    expect(health[SCHOOL_DIRECTORY_ID]).toMatchObject({ status: 'up', discovery: true, jwks: true, failures: 0 });
    expect(health['test-school']).toMatchObject({ status: 'up' });
    expect(itemOf(await chooser(), SCHOOL_DIRECTORY_ID)).not.toMatch(/unavailable/);
  });

  it('marks a directory that went down, with the reason, and clears the mark when it is back', async () => {
    await fed.directoryIdp.stop();
    try {
      const health = await healthCheck();
      expect(health[SCHOOL_DIRECTORY_ID]).toMatchObject({ status: 'down', discovery: false, jwks: false, failures: 1 });
      expect(String(health[SCHOOL_DIRECTORY_ID]!.lastError)).toContain('cannot reach');
      expect(health[SCHOOL_DIRECTORY_ID]!.lastOkAt).toBeDefined();
      // Only that directory is marked.
      expect(health['test-school']).toMatchObject({ status: 'up' });
      const page = await chooser();
      expect(itemOf(page, SCHOOL_DIRECTORY_ID)).toMatch(/unavailable/);
      expect(itemOf(page, 'test-school')).not.toMatch(/unavailable/);

      const listed = await fetch(`${fed.bridge.issuer}/admin/api/directories`, { headers: { authorization: AUTH } });
      const directories = ((await listed.json()) as { directories: Array<Record<string, any>> }).directories;
      expect(directories.find((d) => d.id === SCHOOL_DIRECTORY_ID)!.health.status).toBe('down');
    } finally {
      await fed.directoryIdp.start();
    }
    const health = await healthCheck();
    expect(health[SCHOOL_DIRECTORY_ID]).toMatchObject({ status: 'up', failures: 0 });
    expect(itemOf(await chooser(), SCHOOL_DIRECTORY_ID)).not.toMatch(/unavailable/);
  });

  it('reports a directory whose discovery fails with an HTTP error', async () => {
    fed.directoryIdp.setFault('discovery-500');
    try {
      const health = await healthCheck();
      expect(health[SCHOOL_DIRECTORY_ID]).toMatchObject({ status: 'down', discovery: false });
      expect(String(health[SCHOOL_DIRECTORY_ID]!.lastError)).toContain('HTTP 500');
    } finally {
      fed.directoryIdp.setFault('none');
    }
  });

  it('checks in the background on its interval', async () => {
    const background = await startFederation({
      directoryIdp: fed.directoryIdp,
      config: { directories: { healthCheckIntervalSeconds: 1 }, clients: [RP_CLIENT] },
    });
    const status = () => background.bridge.bridge.health.statusOf(SCHOOL_DIRECTORY_ID);
    // The suite's own bridge has no interval (0): nothing checks it in the background meanwhile.
    const onDemandOnly = fed.bridge.bridge.health.statusOf(SCHOOL_DIRECTORY_ID)?.checkedAt;
    try {
      // The first round starts at once.
      await eventually(() => status()?.status === 'up', { what: 'a first background round' });
      // Later rounds, which nobody asks for, see the directory fail, round after round, and recover.
      fed.directoryIdp.setFault('discovery-500');
      try {
        const failing = await eventually(() => (status()!.failures >= 2 ? status() : undefined), { timeoutMs: 10_000, what: 'two failed background rounds' });
        expect(failing).toMatchObject({ status: 'down', discovery: false });
        expect(String(failing.lastError)).toContain('HTTP 500');
      } finally {
        fed.directoryIdp.setFault('none');
      }
      await eventually(() => status()!.status === 'up' && status()!.failures === 0, { timeoutMs: 10_000, what: 'a background round seeing it back' });
      expect(fed.bridge.bridge.health.statusOf(SCHOOL_DIRECTORY_ID)?.checkedAt).toBe(onDemandOnly);
    } finally {
      await background.stop();
    }
  });
});
