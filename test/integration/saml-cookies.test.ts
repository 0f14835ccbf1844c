import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { startBridge, type BridgeHandle } from '../support/bridge.js';
import { RP_CLIENT, RP_REDIRECT } from '../support/federation.js';
import { listeningHttpServer } from '../support/ports.js';
import { samlKeyPairs } from '../support/keys.js';
import { forgeIdpMetadata, FORGE_SSO_URL } from '../support/saml-forge.js';

const DIRECTORY = 'saml-cookies';

/**
 * The ACS is a cross-site POST from the identity provider: the browser sends only SameSite=None
 * cookies with it. On an https issuer the transaction cookie of a SAML directory is SameSite=None
 * (and Secure, path-scoped, signed); every other cookie of the login stays SameSite=Lax.
 */
describe('SAML: the transaction cookie reaches the cross-site ACS post, the others stay Lax', () => {
  let bridge: BridgeHandle;
  let base: string;

  beforeAll(async () => {
    const idpKey = samlKeyPairs.idp();
    // The bridge's server listens first: its https issuer (behind the proxy) names the port.
    const { server, port } = await listeningHttpServer();
    base = `http://127.0.0.1:${port}`;
    // TLS ends at a proxy (X-Forwarded-Proto), as in production.
    bridge = await startBridge({
      server,
      issuer: `https://127.0.0.1:${port}`,
      config: {
        trustProxy: true,
        clients: [RP_CLIENT],
        upstreams: [
          { type: 'saml', id: DIRECTORY, displayName: { fi: 'SAML' }, metadata: forgeIdpMetadata('https://idp.example/saml', [idpKey.cert]), accounts: 'test' },
        ],
      } as never,
    });
  });

  afterAll(async () => {
    await bridge?.stop();
  });

  it('sets SameSite=None; Secure only on the SAML transaction cookie', async () => {
    const jar = new Map<string, string>();
    const setCookies: string[] = [];
    async function get(url: string): Promise<Response> {
      const response = await fetch(url.replace(/^https:\/\/127\.0\.0\.1:\d+/, base), {
        redirect: 'manual',
        headers: { 'x-forwarded-proto': 'https', cookie: [...jar].map(([n, v]) => `${n}=${v}`).join('; ') },
      });
      for (const line of response.headers.getSetCookie()) {
        setCookies.push(line);
        const [pair = ''] = line.split(';');
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      return response;
    }
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      client_id: RP_CLIENT.client_id,
      redirect_uri: RP_REDIRECT,
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      acr_values: `urn:mpass.id:authnsource:${DIRECTORY}`,
    });
    let response = await get(`${base}/auth?${query}`);
    for (let hop = 0; hop < 5 && !response.headers.get('location')?.startsWith(FORGE_SSO_URL); hop += 1) {
      expect([302, 303]).toContain(response.status);
      response = await get(new URL(response.headers.get('location')!, bridge.issuer).href);
    }
    expect(response.headers.get('location')?.startsWith(FORGE_SSO_URL)).toBe(true);

    const transaction = setCookies.filter((c) => /^mpass_upstream(\.sig)?=/.test(c));
    expect(transaction.length).toBeGreaterThan(0);
    for (const line of transaction) {
      expect(line.toLowerCase()).toContain('samesite=none');
      expect(line.toLowerCase()).toContain('secure');
      expect(line).toContain(`path=/upstream/${DIRECTORY}/callback`);
    }
    const others = setCookies.filter((c) => !/^mpass_upstream(\.sig)?=/.test(c));
    expect(others.length).toBeGreaterThan(0);
    for (const line of others) expect(line.toLowerCase()).toMatch(/samesite=(lax|strict)/);
  });
});
