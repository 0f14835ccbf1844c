import { RP_CLIENT, RP_REDIRECT, SCHOOL_DIRECTORY_ID, type Federation } from './federation.js';
import { UserAgent, type Page } from './user-agent.js';

/** How a user and a service behave when the bridge answers 503: reload, and repeat the token request. */
export interface Persistence {
  /** Reloads of one 503 page (or a dropped connection) before the user gives up. */
  reloads: number;
  /** Repeats of a token request answered 503. */
  tokenRetries: number;
  /** Wait before each reload or repeat. */
  waitMs: number;
}

export interface PersistentLoginResult {
  /** completed: the service holds an ID token; lost: the login ended on a 4xx page or a refused code; server_error: a 500 was seen. */
  outcome: 'completed' | 'lost' | 'server_error';
  /** Where a lost login ended (path and status), for the report. */
  endedAt?: string;
  reloads: number;
  tokenRetries: number;
  statuses: number[];
  /** Path and status of every bridge request, in order. */
  trace: string[];
}

/**
 * The user's (and the service's) pause before a reload or a repeated request, as the 503 page and
 * Retry-After ask: a fixed sleep on purpose, it is the behaviour being played, not a wait for a
 * condition of the test.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One whole federated login (deep link → directory → bridge → token) by a user who reloads a 503
 * page and a service that repeats a 503 token request, as the error page and Retry-After ask.
 */
export async function persistentLogin(
  fed: Federation,
  username: string,
  persistence: Persistence,
  agent = new UserAgent('en'),
): Promise<PersistentLoginResult> {
  const result: PersistentLoginResult = { outcome: 'lost', reloads: 0, tokenRetries: 0, statuses: [], trace: [] };
  const load = async (url: string): Promise<Page | undefined> => {
    for (let attempt = 0; ; attempt += 1) {
      let page: Page | undefined;
      try {
        page = await agent.request(url);
        result.statuses.push(page.status);
        result.trace.push(`${new URL(url).pathname} ${page.status}`);
      } catch {
        page = undefined;
      }
      if (page && page.status !== 503) return page;
      if (attempt >= persistence.reloads) return page;
      result.reloads += 1;
      await sleep(persistence.waitMs);
    }
  };
  /** Follows redirects hop by hop (each hop reloadable) until a page, or a redirect to the service. */
  const follow = async (start: string, stopAt: string): Promise<{ page?: Page; url: string }> => {
    let url = start;
    for (let hop = 0; hop < 20; hop += 1) {
      const page = await load(url);
      if (!page) return { url };
      const location = page.headers.get('location');
      if (page.status < 300 || page.status >= 400 || !location) return { page, url };
      url = new URL(location, page.url).href;
      if (url.startsWith(stopAt)) return { url };
    }
    return { url };
  };
  const lost = (page: Page | undefined, url: string): PersistentLoginResult => {
    if (result.statuses.includes(500)) result.outcome = 'server_error';
    result.endedAt = `${new URL(url).pathname} ${page?.status ?? 'no answer'}`;
    return result;
  };

  const request = await fed.rp.authorizationRequest({ acr_values: `urn:mpass.id:authnsource:${SCHOOL_DIRECTORY_ID}` });
  const bridgeUpstream = `${fed.bridge.issuer}/upstream/`;
  const atDirectory = await follow(request.url.href, bridgeUpstream);
  if (!atDirectory.page?.body.includes('name="username"')) return lost(atDirectory.page, atDirectory.url);
  // The directory's login form (the directory does not depend on the bridge's store).
  const signedIn = await agent.submit(atDirectory.page, { username, password: `${username}pwd`, action: 'login' }, { stopAt: bridgeUpstream });
  if (signedIn.status !== 0) return lost(signedIn, signedIn.url);
  const back = await follow(signedIn.url, RP_REDIRECT);
  if (!back.url.startsWith(RP_REDIRECT)) return lost(back.page, back.url);
  const code = new URL(back.url).searchParams.get('code');
  if (!code) return lost(undefined, back.url);

  for (let attempt = 0; ; attempt += 1) {
    let status = 0;
    let body: Record<string, unknown> = {};
    try {
      const response = await fetch(`${fed.bridge.issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${RP_CLIENT.client_id}:${RP_CLIENT.client_secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: RP_REDIRECT, code_verifier: request.codeVerifier }),
      });
      status = response.status;
      body = (await response.json()) as Record<string, unknown>;
      result.statuses.push(status);
    } catch {
      status = 0;
    }
    if (status === 200 && typeof body.id_token === 'string') {
      result.outcome = result.statuses.includes(500) ? 'server_error' : 'completed';
      return result;
    }
    if ((status !== 503 && status !== 0) || attempt >= persistence.tokenRetries) return lost(undefined, `${fed.bridge.issuer}/token`);
    result.tokenRetries += 1;
    await sleep(persistence.waitMs);
  }
}

/** Counts of a batch of logins. */
export function tally(results: PersistentLoginResult[]): { completed: number; lost: number; serverErrors: number; endedAt: string[] } {
  return {
    completed: results.filter((r) => r.outcome === 'completed').length,
    lost: results.filter((r) => r.outcome === 'lost').length,
    serverErrors: results.filter((r) => r.outcome === 'server_error').length,
    endedAt: results.flatMap((r) => (r.endedAt ? [r.endedAt] : [])),
  };
}
