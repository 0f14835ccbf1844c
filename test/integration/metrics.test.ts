import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashPassword } from '../../src/admin/passwords.js';
import { deepLinkLogin, RP_CLIENT, startFederation, SCHOOL_DIRECTORY_ID, type Federation } from '../support/federation.js';
import { UserAgent } from '../support/user-agent.js';

const TOKEN = 'metrics-token-0123456789-0123456789-abcdef';

/** One series' value from Prometheus' text format (0 when the series does not exist yet). */
function seriesValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    const found = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('metrics', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation({
      config: {
        metrics: { token: TOKEN },
        trustProxy: true,
        admin: { operators: [{ username: 'operator', passwordHash: await hashPassword('operator-password-0123456789') }] },
      },
    });
  });

  afterAll(async () => {
    await fed?.stop();
  });

  const scrape = async () => {
    const response = await fetch(`${fed.bridge.issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  it('serves /metrics on the public listener only with the metrics token', async () => {
    expect((await fetch(`${fed.bridge.issuer}/metrics`)).status).toBe(401);
    expect((await fetch(`${fed.bridge.issuer}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const text = await scrape();
    expect(text).toContain('mpassid_process_');
    expect(text).toContain('# TYPE mpassid_logins_started_total counter');
  });

  it('counts a successful and a failed login, and directory call times', async () => {
    const labels = { directory: SCHOOL_DIRECTORY_ID, service: RP_CLIENT.client_id };
    const before = await scrape();
    const { request, callback } = await deepLinkLogin(fed, new UserAgent('en'), 'pupil-complete');
    await fed.rp.redeem(callback, request);
    // blocked-no-learner-id has no learner number: the validation table blocks the login.
    const blockedRequest = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
    const agent = new UserAgent('en');
    const atDirectory = await agent.navigate(blockedRequest.url.href);
    await agent.submit(atDirectory, { username: 'blocked-no-learner-id', password: 'blocked-no-learner-idpwd', action: 'login' });
    const after = await scrape();

    const delta = (name: string, extra: Record<string, string> = {}) =>
      seriesValue(after, name, { ...labels, ...extra }) - seriesValue(before, name, { ...labels, ...extra });
    expect(delta('mpassid_logins_started_total')).toBe(2);
    expect(delta('mpassid_logins_completed_total')).toBe(1);
    expect(delta('mpassid_logins_failed_total', { reason: 'attributes_blocked' })).toBe(1);
    const calls = (text: string) =>
      seriesValue(text, 'mpassid_directory_call_duration_seconds_count', { directory: SCHOOL_DIRECTORY_ID, operation: 'complete', outcome: 'ok' });
    expect(calls(after) - calls(before)).toBe(2);
    const durations = (text: string) => seriesValue(text, 'mpassid_login_duration_seconds_count', { directory: SCHOOL_DIRECTORY_ID, outcome: 'ok' });
    expect(durations(after) - durations(before)).toBe(1);
    // Organisation lookups of the school went through the cache.
    expect(
      seriesValue(after, 'mpassid_organisation_lookups_total', { result: 'hit' }) +
        seriesValue(after, 'mpassid_organisation_lookups_total', { result: 'miss' }),
    ).toBeGreaterThan(0);
    // Nothing personal in the series.
    expect(after).not.toContain('pupil-complete');
    expect(after).not.toContain('Aino');
  });

  it("takes over a trusted proxy's request id, and puts it on the error page and the log line", async () => {
    const response = await fetch(`${fed.bridge.issuer}/interaction/unknown-interaction-id/complete`, {
      headers: { 'x-request-id': 'proxy-req-0001', accept: 'text/html' },
    });
    expect(response.headers.get('x-request-id')).toBe('proxy-req-0001');
    expect(await response.text()).toContain('proxy-req-0001');
    expect(fed.bridge.logs.some((line) => line.ref === 'proxy-req-0001' && line.msg === 'request')).toBe(true);
    // Anything else in the header is not taken over.
    const odd = await fetch(`${fed.bridge.issuer}/nowhere`, { headers: { 'x-request-id': '<script>' } });
    expect(odd.headers.get('x-request-id')).not.toBe('<script>');
  });
});
