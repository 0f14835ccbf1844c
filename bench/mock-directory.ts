/**
 * A minimal, auto-approving OpenID Connect school directory for the login benchmark, run in a process
 * of its own (`node --import tsx bench/mock-directory.ts --port 0 --redirect-uri <bridge callback>`),
 * so that the bridge's process CPU counts only the bridge's own work.
 *
 * It is as cheap as an OpenID Provider can honestly be: no sessions, no pages, no store. `/authorize`
 * answers at once with a code for the next catalogue user (round robin over the users whose every
 * claim is delivered); `/token` checks the client's credentials, the redirect URI and PKCE, spends the
 * code once and returns an ID token (RS256 by default, as school directories sign) with the user's
 * claims, `nonce` and `auth_time`. The bridge verifies that token against `/jwks` as it would a real
 * directory's. On start it prints one JSON line `{ "issuer": ... }` on stdout.
 *
 * Loopback only; it stops when its parent closes stdin (or on SIGTERM).
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { loadTestUsers } from '../src/testdirectory/users.js';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
    'client-id': { type: 'string', default: 'bench-bridge' },
    'client-secret': { type: 'string', default: 'bench-bridge-secret-0123456789abcdef' },
    alg: { type: 'string', default: 'RS256' },
    users: { type: 'string', default: 'config/test-users.json' },
  },
});

/** Catalogue users whose every claim passes the validation table (config/test-users.json). */
const USERNAMES = ['pupil-complete', 'teacher', 'pupil-two-schools', 'pupil-school-office'];
const CODE_TTL_MS = 60_000;
/** Bound on codes waiting for redemption: a driver that never redeems cannot grow the process. */
const MAX_PENDING_CODES = 100_000;

interface PendingCode {
  user: { username: string; claims: Record<string, unknown> };
  redirectUri: string;
  nonce: string | undefined;
  challenge: string;
  expires: number;
}

const catalogue = loadTestUsers(opts.users);
const users = USERNAMES.map((name) => {
  const user = catalogue.find((u) => u.username === name);
  if (!user) throw new Error(`${name} is not in ${opts.users}`);
  return user;
});

const alg = opts.alg === 'ES256' ? 'ES256' : 'RS256';
const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey: KeyObject = createPrivateKey(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
const kid = randomBytes(8).toString('hex');
const jwks = JSON.stringify({ keys: [{ ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }] });
const header = Buffer.from(JSON.stringify({ alg, kid, typ: 'JWT' })).toString('base64url');

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
function signJwt(claims: Record<string, unknown>): string {
  const input = `${header}.${b64(claims)}`;
  const signature =
    alg === 'ES256' ? sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const codes = new Map<string, PendingCode>();
let next = 0;
const expectedCredentials = Buffer.from(`${opts['client-id']}:${opts['client-secret']}`);

/** client_secret_basic: both halves are form-urlencoded (RFC 6749 2.3.1; openid-client encodes even '-'). */
function clientAuthenticated(header: string | undefined): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const [id = '', secret = ''] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  const decode = (part: string): string => decodeURIComponent(part.replace(/\+/g, ' '));
  try {
    const given = Buffer.from(`${decode(id)}:${decode(secret)}`);
    return given.length === expectedCredentials.length && timingSafeEqual(given, expectedCredentials);
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): undefined {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 16 * 1024) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') return send(res, 200, discovery);
    if (req.method === 'GET' && url.pathname === '/jwks') return send(res, 200, jwks);
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/token') return token(req, res, await readBody(req));
    send(res, 404, '{"error":"not_found"}');
  } catch (err) {
    send(res, 500, JSON.stringify({ error: 'server_error', error_description: err instanceof Error ? err.message : 'error' }));
  }
});

function authorize(url: URL, res: ServerResponse): undefined {
  const q = url.searchParams;
  const redirectUri = q.get('redirect_uri') ?? '';
  if (q.get('client_id') !== opts['client-id'] || !opts['redirect-uri'].includes(redirectUri)) return send(res, 400, '{"error":"invalid_request"}');
  if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge'))
    return send(res, 400, '{"error":"invalid_request"}');
  if (codes.size >= MAX_PENDING_CODES) codes.clear();
  const code = randomBytes(24).toString('base64url');
  const user = users[next++ % users.length]!;
  codes.set(code, { user, redirectUri, nonce: q.get('nonce') ?? undefined, challenge: q.get('code_challenge')!, expires: Date.now() + CODE_TTL_MS });
  const to = new URL(redirectUri);
  to.searchParams.set('code', code);
  if (q.get('state')) to.searchParams.set('state', q.get('state')!);
  to.searchParams.set('iss', issuer);
  res.writeHead(302, { location: to.href, 'content-length': 0 });
  res.end();
}

function token(req: IncomingMessage, res: ServerResponse, body: string): undefined {
  if (!clientAuthenticated(req.headers.authorization)) return send(res, 401, '{"error":"invalid_client"}');
  const form = new URLSearchParams(body);
  const code = form.get('code') ?? '';
  const pending = codes.get(code);
  codes.delete(code);
  const verifier = form.get('code_verifier') ?? '';
  if (
    form.get('grant_type') !== 'authorization_code' ||
    !pending ||
    pending.expires < Date.now() ||
    pending.redirectUri !== form.get('redirect_uri') ||
    createHash('sha256').update(verifier).digest('base64url') !== pending.challenge
  ) {
    return send(res, 400, '{"error":"invalid_grant"}');
  }
  const now = Math.floor(Date.now() / 1000);
  const idToken = signJwt({
    iss: issuer,
    sub: pending.user.username,
    aud: opts['client-id'],
    iat: now,
    exp: now + 300,
    auth_time: now,
    ...(pending.nonce ? { nonce: pending.nonce } : {}),
    ...pending.user.claims,
  });
  send(res, 200, JSON.stringify({ access_token: randomBytes(24).toString('base64url'), token_type: 'Bearer', expires_in: 300, id_token: idToken }));
}

await new Promise<void>((done) => server.listen(Number(opts.port), '127.0.0.1', done));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const discovery = JSON.stringify({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  jwks_uri: `${issuer}/jwks`,
  response_types_supported: ['code'],
  subject_types_supported: ['public'],
  id_token_signing_alg_values_supported: [alg],
  token_endpoint_auth_methods_supported: ['client_secret_basic'],
  code_challenge_methods_supported: ['S256'],
  authorization_response_iss_parameter_supported: true,
});
process.stdout.write(`${JSON.stringify({ issuer })}\n`);

// Expired codes go, so a long run keeps a flat memory.
setInterval(() => {
  const now = Date.now();
  for (const [code, pending] of codes) if (pending.expires < now) codes.delete(code);
}, 10_000).unref();

const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);
