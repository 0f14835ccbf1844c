import { expect } from '@jest/globals';
import type { BridgeConfigInput } from '../../src/config/schema.js';
import type { BridgeSecrets } from '../../src/config/secrets.js';
import { startBridge, type BridgeHandle } from './bridge.js';
import type { Server } from 'node:http';
import { listeningHttpServer } from './ports.js';
import { RelyingParty, type AuthorizationRequest } from './relying-party.js';
import { startDirectoryIdp, type DirectoryIdpHandle } from './directory-idp.js';
import { linksWithText, type UserAgent, type Page } from './user-agent.js';

/** The service's redirect URI: nobody serves it; the user agent stops there and hands over the URL. */
export const RP_REDIRECT = 'http://127.0.0.1:9/callback';
export const RP_CLIENT = { client_id: 'learning-service', client_secret: 'learning-service-secret-0123456789', redirect_uris: [RP_REDIRECT] };
export const SCHOOL_DIRECTORY_ID = 'school-a';
/**
 * The redirect URI of services that register themselves: https, as production requires (the user
 * agent stops there without fetching it).
 */
export const SERVICE_REDIRECT = 'https://service.example/callback';

export interface Federation {
  bridge: BridgeHandle;
  directoryIdp: DirectoryIdpHandle;
  rp: RelyingParty;
  stop(): Promise<void>;
}

/**
 * A bridge federating to a standalone directory (a real OpenID Provider on its own port) with a
 * service registered: every part real, on loopback.
 */
export interface FederationOptions {
  config?: Omit<BridgeConfigInput, 'issuer' | 'port' | 'upstreams'>;
  secrets?: BridgeSecrets;
  directoryIdp?: DirectoryIdpHandle;
  /** Settings of the directory's entry in the bridge's `upstreams` (mapping, auth method, ...). */
  directoryConfig?: Record<string, unknown>;
  /** The bridge's server, already listening (its port was needed first); by default one on a port the OS picks. */
  server?: Server;
  /** The port of an earlier run of this bridge, bound again (a restart). */
  bridgePort?: number;
  issuer?: string;
  /** The organisation registry cache's clock (see StartBridgeOptions). */
  organisationsClock?: () => number;
}

export async function startFederation(options: FederationOptions = {}): Promise<Federation> {
  // The directory is told the bridge's callback first: the bridge's server listens before either is built.
  const server = options.server ?? (options.bridgePort === undefined ? (await listeningHttpServer()).server : undefined);
  const port = server ? (server.address() as { port: number }).port : options.bridgePort!;
  const directoryIdp =
    options.directoryIdp ?? (await startDirectoryIdp({ redirectUris: [`http://127.0.0.1:${port}/upstream/${SCHOOL_DIRECTORY_ID}/callback`] }));
  const bridge = await startBridge({
    ...(server ? { server } : { port }),
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ...(options.organisationsClock ? { organisationsClock: options.organisationsClock } : {}),
    config: {
      clients: [RP_CLIENT],
      ...options.config,
      upstreams: [
        {
          id: SCHOOL_DIRECTORY_ID,
          displayName: { fi: 'Koulu A', sv: 'Skola A', en: 'School A' },
          issuer: directoryIdp.issuer,
          clientId: directoryIdp.clientId,
          clientSecret: directoryIdp.clientSecret,
          // A directory of test accounts: the test environment (the default here) offers only those.
          accounts: options.config?.environment === 'production' ? 'real' : options.config?.environment === 'demo' ? 'demo' : 'test',
          ...options.directoryConfig,
        },
      ],
    } as BridgeConfigInput,
  });
  const rp = await RelyingParty.discover({
    issuer: bridge.issuer,
    clientId: RP_CLIENT.client_id,
    clientSecret: RP_CLIENT.client_secret,
    redirectUri: RP_REDIRECT,
  });
  return {
    bridge,
    directoryIdp,
    rp,
    async stop() {
      await bridge.stop();
      if (!options.directoryIdp) await directoryIdp.stop();
    },
  };
}

/**
 * What a token request of a service that does not exist in this environment (never approved here,
 * suspended, rejected) is refused with: its client authentication fails.
 */
export const CLIENT_REFUSED = { status: 401, cause: [expect.objectContaining({ parameters: expect.objectContaining({ error: 'invalid_client' }) })] };

/** Signs in at the directory's login form (the page the user agent is on). */
export async function signInAtDirectory(agent: UserAgent, page: Page, username: string, stopAt = RP_REDIRECT): Promise<Page> {
  expect(page.body).toContain('name="username"');
  return agent.submit(page, { username, password: `${username}pwd`, action: 'login' }, { stopAt });
}

/** From the chooser, picks the directory whose name contains `name`. */
export async function choose(agent: UserAgent, chooser: Page, name: string): Promise<Page> {
  const [link] = linksWithText(chooser, name);
  expect(link).toBeDefined();
  return agent.navigate(link!, { stopAt: RP_REDIRECT });
}

/** A whole login through the deep link; returns the URL the service receives. */
export async function deepLinkLogin(
  fed: Federation,
  agent: UserAgent,
  username: string,
  extra: Record<string, string> = {},
): Promise<{ request: AuthorizationRequest; callback: string }> {
  const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}`, ...extra });
  const login = await agent.navigate(request.url.href, { stopAt: RP_REDIRECT });
  const done = await signInAtDirectory(agent, login, username);
  expect(done.url.startsWith(RP_REDIRECT)).toBe(true);
  return { request, callback: done.url };
}
