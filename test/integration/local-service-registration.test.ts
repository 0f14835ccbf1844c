import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashPassword } from '../../src/admin/passwords.js';
import { startBridge, type BridgeHandle } from '../support/bridge.js';

/**
 * docs/onboarding.md on one machine: a local service registers with loopback redirect URIs, and a
 * registration whose redirect URIs span hosts is refused with the pairwise sector rule explained.
 */
const OPERATOR = { username: 'local', password: 'local-operator-password-0123' };
const AUTH = `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`;

describe('registering a local development service', () => {
  let bridge: BridgeHandle;

  beforeAll(async () => {
    bridge = await startBridge({
      config: {
        admin: { operators: [{ username: OPERATOR.username, passwordHash: await hashPassword(OPERATOR.password) }] },
        directories: { healthCheckIntervalSeconds: 0 },
      },
    });
  });

  afterAll(async () => {
    await bridge?.stop();
  });

  async function token(): Promise<string> {
    const response = await fetch(`${bridge.issuer}/admin/api/initial-access-tokens`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ uses: 3 }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { initialAccessToken: string }).initialAccessToken;
  }

  async function register(iat: string, redirects: string[], extra: Record<string, unknown> = {}) {
    const response = await fetch(`${bridge.issuer}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Harjoituskirja (local)', redirect_uris: redirects, ...extra }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  it('explains the pairwise sector rule when redirect URIs span hosts, and accepts loopback redirect URIs on one host', async () => {
    const iat = await token();
    const mixed = await register(iat, ['https://harjoituskirja.example/oidc/callback', 'http://127.0.0.1:3001/callback']);
    expect(mixed.status).toBe(400);
    expect(mixed.body.error).toBe('invalid_client_metadata');
    expect(mixed.body.error_description).toContain('redirect URIs on more than one host (harjoituskirja.example, 127.0.0.1:3001) need a sector_identifier_uri');
    expect(mixed.body.error_description).toContain('register the loopback (development) redirect URI as a separate development service');
    expect(mixed.body.error_description).not.toContain('mandatory property');

    // Two ports of one loopback address are two hosts too.
    const ports = await register(iat, ['http://127.0.0.1:3001/callback', 'http://127.0.0.1:3002/callback']);
    expect(ports.body.error_description).toContain('need a sector_identifier_uri');

    const local = await register(iat, ['http://127.0.0.1:3001/callback'], { post_logout_redirect_uris: ['http://127.0.0.1:3001/'] });
    expect(local.status).toBe(201);
    expect(local.body.client_id).toMatch(/^[0-9a-f]+$/);
  });
});
