import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * The benchmark's browser and service, kept lean so the driver costs little next to the servers it
 * measures: node:http over keep-alive connections, cookies per name with their path, redirects
 * followed one hop at a time, and the service's token call. (The test suite's UserAgent and
 * openid-client RP are the faithful ones; here every microsecond the driver spends is a microsecond
 * less for the process under test on a 2-core machine.)
 *
 * `route` picks the port a request goes to: several bridge processes serve one issuer, and the driver
 * sends each request to one of them (with the issuer's Host), so a login moves between processes.
 */
export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Route = (url: URL) => number;

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export function send(url: URL, route: Route, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  return new Promise((done, fail) => {
    const headers: Record<string, string> = { host: url.host, ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = httpRequest(
      { host: '127.0.0.1', port: route(url), path: `${url.pathname}${url.search}`, method: init.method ?? 'GET', headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(init.body);
  });
}

/** One user's cookies (a fresh jar per login: every login is a full one, never SSO). */
export class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  header(url: URL): string | undefined {
    let out = '';
    for (const [name, c] of this.cookies) {
      if (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) out += `${out ? '; ' : ''}${name}=${c.value}`;
    }
    return out || undefined;
  }

  store(setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const parts = line.split(';');
      const pair = parts[0]!.trim();
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = false;
      for (const attribute of parts.slice(1)) {
        const a = attribute.trim().toLowerCase();
        if (a.startsWith('path=')) path = attribute.trim().slice(5) || '/';
        else if (a.startsWith('expires=thu, 01 jan 1970') || /^max-age=(0|-\d+)$/.test(a)) expired = true;
      }
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }
}

/** Follows redirects from `start` until one points at `stopAt` (returned, not requested). */
export async function follow(start: string, jar: CookieJar, route: Route, stopAt: string, maxHops = 12): Promise<string> {
  let url = new URL(start);
  for (let hop = 0; hop < maxHops; hop += 1) {
    const cookie = jar.header(url);
    const res = await send(url, route, cookie ? { headers: { cookie } } : {});
    jar.store(res.headers['set-cookie']);
    const location = res.headers.location;
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`login stopped at ${url.pathname} with status ${res.status}: ${res.body.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
    const next = new URL(location, url);
    if (next.href.startsWith(stopAt)) return next.href;
    url = next;
  }
  throw new Error(`more than ${maxHops} redirects`);
}

export interface Client {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  tokenEndpoint: string;
}

export interface PendingRequest {
  url: string;
  state: string;
  nonce: string;
  verifier: string;
}

export function authorizationRequest(client: Client, authorizationEndpoint: string, extra: Record<string, string> = {}): PendingRequest {
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(authorizationEndpoint);
  const params = {
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    response_type: 'code',
    scope: 'openid profile',
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return { url: url.href, state, nonce, verifier };
}

/**
 * The service's side of the callback: state and issuer checked, the code redeemed with client
 * authentication and PKCE, the ID token's issuer, audience and nonce checked. (Its signature is the
 * provider's work to make, not the driver's to check: the test suite verifies it with openid-client.)
 * Returns the ID token's header `alg`.
 */
export async function redeem(client: Client, callback: string, pending: PendingRequest, route: Route): Promise<string> {
  const params = new URL(callback).searchParams;
  if (params.get('state') !== pending.state) throw new Error('state mismatch');
  if (params.get('iss') !== client.issuer) throw new Error('iss mismatch');
  const code = params.get('code');
  if (!code) throw new Error(`no code: ${params.get('error')} ${params.get('error_description')}`);
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: pending.verifier }).toString();
  const res = await send(new URL(client.tokenEndpoint), route, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`,
    },
    body,
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.body.slice(0, 200)}`);
  const idToken = (JSON.parse(res.body) as { id_token?: string }).id_token;
  const [header, payload] = (idToken ?? '').split('.');
  if (!header || !payload) throw new Error('no ID token');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (claims.iss !== client.issuer || claims.aud !== client.clientId || claims.nonce !== pending.nonce || typeof claims.sub !== 'string') {
    throw new Error('ID token does not match the request');
  }
  return String((JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg);
}
