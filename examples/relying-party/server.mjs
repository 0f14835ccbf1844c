// An example service (OpenID Connect relying party) signing users in through MPASSid Bridge, the way
// a learning service does: openid-client, authorization code flow with PKCE S256, state and nonce,
// acr_values to go straight to one school, userinfo, RP-initiated logout, and refresh tokens once the
// MPASSid operators allowed them for the service. Plain Node.js (20 or newer) and openid-client, no
// framework, so that every step is visible. See README.md next to this file.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import * as oidc from 'openid-client';

const ISSUER = process.env.MPASSID_ISSUER ?? 'http://localhost:3000';
const PORT = Number(process.env.PORT ?? 3001);
// Loopback: the bridge's test environment accepts http redirect URIs only on loopback addresses.
const BASE = `http://127.0.0.1:${PORT}`;
const REDIRECT_URI = `${BASE}/callback`;
const REGISTRATION_FILE = process.env.REGISTRATION_FILE ?? '.local/example-relying-party.json';
const SCHOOL = process.env.MPASSID_SCHOOL ?? 'test-school';

// An http issuer is for development on one machine only; openid-client refuses it unless told.
const insecure = ISSUER.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {};

/** The service's registration: a static one from the environment, the saved one, or a new one. */
async function registration() {
  if (process.env.CLIENT_ID && process.env.CLIENT_SECRET) {
    return { client_id: process.env.CLIENT_ID, client_secret: process.env.CLIENT_SECRET };
  }
  try {
    return JSON.parse(readFileSync(REGISTRATION_FILE, 'utf8'));
  } catch {
    // Not registered yet.
  }
  const token = process.env.MPASSID_INITIAL_ACCESS_TOKEN;
  if (!token) {
    throw new Error(
      'set MPASSID_INITIAL_ACCESS_TOKEN (from the MPASSid operators, or `npm run admin -- issue-token` on a local bridge), or CLIENT_ID and CLIENT_SECRET',
    );
  }
  const discovered = await oidc.discovery(new URL(ISSUER), 'unregistered', undefined, undefined, insecure);
  // RFC 7591 dynamic registration. One host for every redirect URI: subjects are pairwise per host.
  const response = await fetch(discovered.serverMetadata().registration_endpoint, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Example service (local development)',
      redirect_uris: [REDIRECT_URI],
      post_logout_redirect_uris: [`${BASE}/`],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  const body = await response.json();
  if (response.status !== 201) throw new Error(`registration refused: ${body.error}: ${body.error_description}`);
  // The registration access token changes with every update (RFC 7592): keep the latest, and keep it secret.
  mkdirSync(dirname(REGISTRATION_FILE), { recursive: true });
  writeFileSync(REGISTRATION_FILE, JSON.stringify(body, null, 2), { mode: 0o600 });
  return body;
}

let registered = await registration();
const configuration = await oidc.discovery(new URL(ISSUER), registered.client_id, undefined, oidc.ClientSecretBasic(registered.client_secret), insecure);

/** Sessions of this example, in memory: { login (while signing in), tokens, claims, userinfo, notice }. */
const sessions = new Map();
const COOKIE = 'example_rp_session';

function sessionOf(request, response) {
  const id = /(?:^|;\s*)example_rp_session=([A-Za-z0-9_-]+)/.exec(request.headers.cookie ?? '')?.[1];
  if (id && sessions.has(id)) return sessions.get(id);
  const fresh = randomBytes(24).toString('base64url');
  const session = {};
  sessions.set(fresh, session);
  response.setHeader('set-cookie', `${COOKIE}=${fresh}; Path=/; HttpOnly; SameSite=Lax`);
  return session;
}

const html = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(response, session, status = 200) {
  const signedIn = Boolean(session.tokens);
  const notice = session.notice ? `<p id="notice">${html(session.notice)}</p>` : '';
  session.notice = undefined;
  const body = signedIn
    ? `<p id="signed-in">Signed in. <code id="sub">${html(session.claims.sub)}</code></p>
<form method="post" action="/refresh"><button id="refresh"${session.tokens.refresh_token ? '' : ' disabled'}>Refresh the access token</button></form>
<p><a id="logout" href="/logout">Sign out</a></p>
<h2>ID token</h2><pre id="id-token">${html(JSON.stringify(session.claims, null, 2))}</pre>
<h2>Userinfo</h2><pre id="userinfo">${html(JSON.stringify(session.userinfo, null, 2))}</pre>
<p>Access token expires in <span id="expires-in">${html(session.tokens.expires_in ?? '?')}</span> s; refresh token: <span id="has-refresh">${session.tokens.refresh_token ? 'yes' : 'no (not allowed for this service)'}</span>.</p>`
    : `<p><a id="login" href="/login">Sign in with MPASSid</a> · <a id="login-school" href="/login?school=${html(SCHOOL)}">Sign in at ${html(SCHOOL)}</a> · <a id="login-other" href="/login?school=${html(SCHOOL)}&amp;prompt=login">Sign in at ${html(SCHOOL)} as another user</a></p>`;
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  response.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Example service</title></head>
<body><h1>Example service</h1><p>Client <code id="client-id">${html(registered.client_id)}</code> at <code>${html(ISSUER)}</code></p>
${notice}${body}
<form method="post" action="/enable-refresh"><button id="enable-refresh">Ask for refresh tokens (RFC 7592 update)</button></form></body></html>`);
}

function redirect(response, location) {
  response.writeHead(302, { location });
  response.end();
}

async function handle(request, response) {
  const url = new URL(request.url, BASE);
  const session = sessionOf(request, response);

  if (request.method === 'GET' && url.pathname === '/') return page(response, session);

  if (request.method === 'GET' && url.pathname === '/login') {
    session.login = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    const parameters = {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile',
      state: session.login.state,
      nonce: session.login.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(session.login.verifier),
      code_challenge_method: 'S256',
    };
    // Straight to one school's sign-in, without the school chooser.
    if (url.searchParams.get('school')) parameters.acr_values = `urn:mpass.id:authnsource:${url.searchParams.get('school')}`;
    // A new sign-in at the school even while MPASSid or the school still has a session (another user).
    if (url.searchParams.get('prompt') === 'login') parameters.prompt = 'login';
    return redirect(response, oidc.buildAuthorizationUrl(configuration, parameters).href);
  }

  if (request.method === 'GET' && url.pathname === '/callback') {
    const login = session.login;
    session.login = undefined;
    if (!login) return redirect(response, '/');
    try {
      // Checks state, PKCE, the ID token's signature, issuer, audience, nonce and lifetime.
      const tokens = await oidc.authorizationCodeGrant(configuration, url, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      session.tokens = tokens;
      session.claims = tokens.claims();
      session.userinfo = await oidc.fetchUserInfo(configuration, tokens.access_token, session.claims.sub);
    } catch (err) {
      // E.g. access_denied when the user cancelled or the school's data did not pass MPASSid's checks.
      session.notice = `Sign-in did not succeed: ${err.error ?? err.code ?? 'error'}${err.error_description ? ` (${err.error_description})` : ''}`;
    }
    return redirect(response, '/');
  }

  if (request.method === 'GET' && url.pathname === '/logout') {
    const idToken = session.tokens?.id_token;
    session.tokens = undefined;
    session.claims = undefined;
    session.userinfo = undefined;
    // RP-initiated logout: MPASSid ends its session and sends the browser back to a registered URI.
    return redirect(
      response,
      oidc.buildEndSessionUrl(configuration, {
        post_logout_redirect_uri: `${BASE}/`,
        ...(idToken ? { id_token_hint: idToken } : { client_id: registered.client_id }),
      }).href,
    );
  }

  if (request.method === 'POST' && url.pathname === '/refresh' && session.tokens?.refresh_token) {
    try {
      // Each refresh answers with a new refresh token; the old one must not be used again.
      session.tokens = await oidc.refreshTokenGrant(configuration, session.tokens.refresh_token);
      session.notice = 'Access token refreshed.';
    } catch (err) {
      session.notice = `Refresh did not succeed: ${err.error ?? err.code ?? 'error'}`;
    }
    return redirect(response, '/');
  }

  if (request.method === 'POST' && url.pathname === '/enable-refresh') {
    if (!registered.registration_client_uri) {
      session.notice = 'Only a service registered here can update its registration.';
      return redirect(response, '/');
    }
    // RFC 7592: the whole metadata again, with refresh_token added; refused until operators allow it.
    const { registration_access_token: token, registration_client_uri: uri, client_secret_expires_at: _e, client_id_issued_at: _i, ...metadata } = registered;
    const update = await fetch(uri, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...metadata, grant_types: ['authorization_code', 'refresh_token'] }),
    });
    const body = await update.json();
    if (update.ok) {
      registered = {
        ...registered,
        ...body,
        registration_client_uri: body.registration_client_uri ?? uri,
        registration_access_token: body.registration_access_token ?? token,
      };
      writeFileSync(REGISTRATION_FILE, JSON.stringify(registered, null, 2), { mode: 0o600 });
      session.notice = 'Refresh tokens enabled: sign in again to receive one.';
    } else {
      session.notice = `Update refused: ${body.error_description ?? body.error}`;
    }
    return redirect(response, '/');
  }

  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('not found');
}

createServer((request, response) => {
  handle(request, response).catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    response.writeHead(500, { 'content-type': 'text/plain' });
    response.end('error');
  });
}).listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`Example service listening at ${BASE}/ (client ${registered.client_id}, issuer ${ISSUER})\n`);
});
