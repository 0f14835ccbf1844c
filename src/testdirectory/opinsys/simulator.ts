import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { generateKeyPair, SignJWT } from 'jose';
import { z } from 'zod';
import { subApp } from '../../http/compose.js';
import { cookieSigner } from '../../http/cookie-signer.js';
import { readForm } from '../../http/form.js';
import type { TestUser } from '../users.js';
import { DIRECTORY_CSP } from '../index.js';

/**
 * An Opinsys SSO service as its developer documentation describes it (puavo-users
 * rest/doc/SSO_DEVELOPERS.md), for tests and the bundled test environment: `GET /v3/sso` with
 * `return_to` (whose host must be a registered one) and optionally `organisation`; after a login (or
 * at once, with a session here, as Kerberos logins on Opinsys desktops do) the browser goes back to
 * `return_to` with `jwt` appended, signed HS256 with the shared secret.
 *
 * Claims: the documented set (iat, jti, id, username, first_name, last_name, user_type, school_name,
 * school_id, organisation_name, organisation_domain; email is not set, as for many real users) and,
 * with `extendedClaims`, the extended set MPASSid receives, under names of our own: nickname,
 * learner_id, school_codes, groups, group_levels, roles, learning_materials_charges (the test
 * user's raw values, as given in the catalogue).
 */

/** How tokens are made wrong, for protocol tests (`none`: correct tokens). */
const OPINSYS_FAULTS = ['none', 'alg-hs512', 'alg-none', 'alg-rs256', 'wrong-secret', 'expired', 'future', 'no-jti', 'no-iat'] as const;
export type OpinsysFault = (typeof OPINSYS_FAULTS)[number];

export interface OpinsysSimulatorOptions {
  users: TestUser[];
  sharedSecret: string;
  /** Hosts (host[:port]) `return_to` may point at: the fqdn registered with Opinsys. */
  returnToHosts: string[];
  /** The tenant this simulator is (default testikunta.opinsys.fi); another `organisation` is refused. */
  organisationDomain?: string;
  organisationName?: string;
  schoolName?: string;
  /** Also send the extended claims (default true). */
  extendedClaims?: boolean;
  cookieKeys: string[];
  secureCookies?: boolean;
  /** Read for every token issued (tests switch it between logins). */
  fault?: () => OpinsysFault;
}

export interface OpinsysSimulator {
  /** A Koa app of its own: run it standalone with `app.callback()`. */
  app: Koa;
  /** The same routes for mounting in another app (with mountAt). */
  middleware: Middleware;
}

const SESSION_COOKIE = 'opinsys_sim_session';
const SESSION_SECONDS = 3600;
const MAX_RETURN_TO = 2000;

const loginForm = z
  .object({
    username: z.string().max(200).default(''),
    password: z.string().max(200).default(''),
    return_to: z.string().min(1).max(MAX_RETURN_TO),
    organisation: z.string().max(253).optional(),
    action: z.literal('login').optional(),
  })
  .strict();

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** A stable numeric id, as Puavo's ids are integers. */
const numericId = (value: string): number => digest(value).readUInt32BE(0) & 0x7fffffff;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const firstOf = (value: string | string[] | undefined): string | undefined => {
  const all = value === undefined ? [] : Array.isArray(value) ? value : value.split(';');
  return all.map((v) => v.trim()).find((v) => v !== '');
};

/** Puavo's user types for the roles our catalogue uses (a user without roles gets none). */
const USER_TYPES: Record<string, string> = { oppilas: 'student', opettaja: 'teacher', rehtori: 'staff', huoltaja: 'parent' };

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="fi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title></head>
<body><header><strong>Opinsys</strong> <span lang="en">SSO simulator: test users only</span></header><main>${body}</main></body></html>`;
}

export function createOpinsysSimulator(options: OpinsysSimulatorOptions): OpinsysSimulator {
  const users = new Map(options.users.map((u) => [u.username, u]));
  const organisationDomain = options.organisationDomain ?? 'testikunta.opinsys.fi';
  const organisationName = options.organisationName ?? 'Testikunta';
  const schoolName = options.schoolName ?? 'Mansikkalan testikoulu';
  const allowedHosts = new Set(options.returnToHosts.map((h) => h.toLowerCase()));
  const secret = new TextEncoder().encode(options.sharedSecret);
  const rsaKey = generateKeyPair('RS256');

  /** return_to as Opinsys checks it: an absolute http(s) URL on a registered host. */
  function returnToOf(raw: unknown): URL | undefined {
    if (typeof raw !== 'string' || raw.length > MAX_RETURN_TO) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return allowedHosts.has(url.host.toLowerCase()) ? url : undefined;
  }

  function claimsOf(user: TestUser): Record<string, unknown> {
    const c = user.claims;
    const role = firstOf(c.roles)?.toLowerCase();
    const school = firstOf(c.school_codes);
    const documented: Record<string, unknown> = {
      id: numericId(user.username),
      username: user.username,
      first_name: firstOf(c.given_name),
      last_name: firstOf(c.family_name),
      user_type: role ? (USER_TYPES[role] ?? 'staff') : undefined,
      school_name: school ? schoolName : undefined,
      school_id: school ? numericId(`school:${school}`) : undefined,
      organisation_name: organisationName,
      organisation_domain: organisationDomain,
    };
    const extended =
      options.extendedClaims === false
        ? {}
        : {
            nickname: c.nickname,
            learner_id: c.learner_id,
            school_codes: c.school_codes,
            groups: c.groups,
            group_levels: c.group_levels,
            roles: c.roles,
            learning_materials_charges: c.learning_materials_charges,
          };
    return Object.fromEntries(Object.entries({ ...documented, ...extended }).filter(([, v]) => v !== undefined));
  }

  async function tokenFor(user: TestUser): Promise<string> {
    const fault = options.fault?.() ?? 'none';
    const now = Math.floor(Date.now() / 1000);
    const iat = fault === 'expired' ? now - 3600 : fault === 'future' ? now + 3600 : now;
    const payload: Record<string, unknown> = {
      ...(fault === 'no-iat' ? {} : { iat }),
      ...(fault === 'no-jti' ? {} : { jti: randomUUID() }),
      ...claimsOf(user),
    };
    if (fault === 'alg-none') {
      const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
    }
    const jwt = new SignJWT(payload);
    if (fault === 'alg-rs256') return jwt.setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign((await rsaKey).privateKey);
    const key = fault === 'wrong-secret' ? new TextEncoder().encode(`${options.sharedSecret}-but-another`) : secret;
    return jwt.setProtectedHeader({ alg: fault === 'alg-hs512' ? 'HS512' : 'HS256', typ: 'JWT' }).sign(key);
  }

  async function sendBack(ctx: Context, returnTo: URL, user: TestUser): Promise<void> {
    // Opinsys appends jwt to return_to as it was given (custom fields such as our state stay).
    const target = new URL(returnTo.href);
    target.searchParams.append('jwt', await tokenFor(user));
    ctx.redirect(target.href);
  }

  const basePath = (ctx: Context): string => ctx.mountPath ?? '';

  const renderLogin = (ctx: Context, returnTo: URL, extra: { error?: string; username?: string; status?: number }): void => {
    ctx.status = extra.status ?? 200;
    ctx.type = 'html';
    const example = options.users[0] ? `${options.users[0].username}pwd` : 'pwd';
    const rows = options.users
      .map((u) => `<tr><td><code>${escapeHtml(u.username)}</code></td><td lang="en">${escapeHtml(u.description.en)}</td></tr>`)
      .join('');
    ctx.body = page(
      `Opinsys – ${organisationName}`,
      `<h1>Kirjaudu Opinsys-tunnuksella <span lang="en">/ Sign in with Opinsys</span></h1>
<p>Organisaatio <span lang="en">/ Organisation</span>: <code>${escapeHtml(organisationDomain)}</code></p>
${extra.error ? `<p role="alert" id="login-error">${escapeHtml(extra.error)}</p>` : ''}
<form method="post" action="${escapeHtml(`${basePath(ctx)}/v3/sso/login`)}" autocomplete="off">
<input type="hidden" name="return_to" value="${escapeHtml(returnTo.href)}">
<p><label for="username">Käyttäjätunnus <span lang="en">/ Username</span></label><br><input id="username" name="username" type="text" required value="${escapeHtml(extra.username ?? '')}"></p>
<p><label for="password">Salasana <span lang="en">/ Password</span></label><br><input id="password" name="password" type="password"></p>
<p><button type="submit" name="action" value="login">Kirjaudu <span lang="en">/ Sign in</span></button></p>
</form>
<p>Salasana on käyttäjätunnus + <code>pwd</code>, esimerkiksi <code>${escapeHtml(example)}</code>. <span lang="en">The password is the username + pwd.</span></p>
<table><thead><tr><th>Käyttäjätunnus <span lang="en">/ Username</span></th><th lang="en">What it shows</th></tr></thead><tbody>${rows}</tbody></table>`,
    );
  };

  const refuse = (ctx: Context, status: number, message: string): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = page('Opinsys', `<h1>Virhe <span lang="en">/ Error</span></h1><p id="error">${escapeHtml(message)}</p>`);
  };

  const cookieOptions = (ctx: Context) => ({
    path: basePath(ctx) || '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: options.secureCookies ?? false,
    signed: true,
  });

  const router = new Router();
  // The address health checks reach.
  router.get('/', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'Opinsys SSO simulator';
  });
  router.get('/v3/sso', async (ctx) => {
    const query = new URLSearchParams(ctx.querystring);
    if (query.getAll('return_to').length !== 1) return refuse(ctx, 400, 'return_to is missing or given more than once');
    const returnTo = returnToOf(query.get('return_to'));
    if (!returnTo) return refuse(ctx, 400, 'return_to is not an address of a registered external service');
    const organisation = query.get('organisation');
    if (organisation !== null && organisation !== organisationDomain) return refuse(ctx, 400, `unknown organisation ${organisation}`);
    const signedIn = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    const user = signedIn ? users.get(signedIn) : undefined;
    // Already signed in here: straight back, without a form.
    if (user) return sendBack(ctx, returnTo, user);
    renderLogin(ctx, returnTo, {});
  });
  router.post('/v3/sso/login', async (ctx) => {
    const parsed = loginForm.safeParse(await readForm(ctx));
    const returnTo = parsed.success ? returnToOf(parsed.data.return_to) : undefined;
    if (!parsed.success || !returnTo) return refuse(ctx, 400, 'the form was not valid');
    const username = parsed.data.username.trim();
    const user = users.get(username);
    // A decoy for unknown names: a wrong name costs the same as a wrong password.
    const ok = timingSafeEqual(digest(parsed.data.password), digest(user?.password ?? '\u0000no such user')) && user !== undefined;
    if (!ok) return renderLogin(ctx, returnTo, { error: 'Väärä käyttäjätunnus tai salasana. / Wrong username or password.', username, status: 401 });
    ctx.cookies.set(SESSION_COOKIE, user.username, { ...cookieOptions(ctx), maxAge: SESSION_SECONDS * 1000 });
    await sendBack(ctx, returnTo, user);
  });

  const app = new Koa();
  app.keys = cookieSigner(options.cookieKeys) as unknown as Koa['keys'];
  app.silent = true;
  app.use(async (ctx, next) => {
    ctx.set('Content-Security-Policy', DIRECTORY_CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (err) {
      // Never a stack trace: a bad form (too large, wrong type) keeps its status, all else is a 500.
      const status = (err as { expose?: boolean; status?: number }).expose ? ((err as { status: number }).status ?? 400) : 500;
      refuse(ctx, status, status === 500 ? 'the simulator could not complete the request' : (err as Error).message);
    }
  });
  app.use(router.routes());
  return { app, middleware: subApp(app) };
}
