import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { z } from 'zod';
import { subApp } from '../../http/compose.js';
import { readForm } from '../../http/form.js';
import { createViews, VIEWS_DIR } from '../../http/views.js';
import { DIRECTORY_CSP } from '../index.js';
import type { TestUser } from '../users.js';

/**
 * A simulator of Wilma's MPASSid interface, written from the documented protocol (see
 * ../shared/spec/connectors.md, "Wilma"): `/mpass` checks the request's HMAC, signs the user in with
 * a form and sends the browser back to `redirectto` with `userid` and `h`; `/external/mpass` checks
 * its HMAC and answers the user's data as JSON. It never shares code with the bridge's connector, so
 * a mistake there cannot hide behind the same mistake here.
 */

/** What the user-data call does instead of answering well (for tests of the bridge's refusals). */
const WILMA_USER_DATA_FAULTS = ['none', 'refuse-mac', 'invalid-json', 'not-a-list', 'hang', 'oversized', 'two-users'] as const;
export type WilmaUserDataFault = (typeof WILMA_USER_DATA_FAULTS)[number];

export interface WilmaSimulatorOptions {
  /** The public address the simulator is reached at (mount path included): MACs are over URLs under it. */
  baseUrl: string;
  /** The shared secret (HMAC-SHA256 key) of this Wilma and the bridge. */
  secret: string;
  users: TestUser[];
  /** Return URLs must begin with one of these (what a Wilma administrator registers); any http(s) URL when absent. */
  returnUrlPrefixes?: string[];
  /**
   * Also answer what the documented legacy answer lacks (learner_id, nickname, and per role
   * class_level and learning_materials_charge): a real Wilma needs these configured as userAttributes.
   */
  extendedAnswer?: boolean;
  schoolName?: string;
  secureCookies?: boolean;
}

export interface WilmaSimulator {
  /** Serves paths relative to the base URL's path (mount it there with mountAt). */
  middleware: Middleware;
  /** Changed by tests while the simulator runs. */
  faults: { userData: WilmaUserDataFault };
  /** The Wilma user id and unique id (cryptid) of a catalogue user. */
  idsOf(username: string): { userid: string; cryptid: string };
}

const SESSION_COOKIE = 'wilma_sim_session';
const HEX_MAC = /^[0-9a-f]{64}$/;
const DATA_NONCE = /^[A-Za-z0-9]{16}$/;
const USED_NONCE_SECONDS = 600;
const MAX_USED_NONCES = 10_000;

const loginForm = z
  .object({
    request: z.string().max(4000),
    username: z.string().max(200).optional(),
    password: z.string().max(200).optional(),
    action: z.literal('login').optional(),
  })
  .strict();

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Lower-case hex HMAC-SHA256, Wilma's MAC. */
function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** Whether the URL text ends in `&h=<its MAC>`; the signed part when it does. */
function verifiedPart(secret: string, url: string): string | undefined {
  const at = url.lastIndexOf('&h=');
  if (at < 0) return undefined;
  const given = url.slice(at + 3);
  if (!HEX_MAC.test(given)) return undefined;
  const signed = url.slice(0, at);
  return timingSafeEqual(Buffer.from(mac(secret, signed), 'hex'), Buffer.from(given, 'hex')) ? signed : undefined;
}

const listOf = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : value.split(';')).map((v) => v.trim()).filter((v) => v !== '');

/** Wilma speaks English role words; the catalogue's Finnish ones are translated where Wilma has one. */
const WILMA_ROLE: Record<string, string> = { oppilas: 'student', opettaja: 'teacher' };

/** The catalogue user as Wilma's legacy JSON answer describes them (one role entry per school). */
function answerFor(user: TestUser, cryptid: string, extended: boolean): Record<string, unknown> {
  const c = user.claims;
  const schools = listOf(c.school_codes);
  const groups = listOf(c.groups);
  const roles = listOf(c.roles).map((role) => WILMA_ROLE[role.toLowerCase()] ?? role);
  const levels = listOf(c.group_levels);
  const charges = listOf(c.learning_materials_charges);
  const count = Math.max(schools.length, groups.length, roles.length);
  // A value given once holds for every role entry; a list gives each entry its own.
  const at = (list: string[], i: number): string => (list.length === 1 ? list[0]! : (list[i] ?? ''));
  const entries = Array.from({ length: count }, (_, i) => ({
    school: at(schools, i),
    group: at(groups, i),
    role: at(roles, i),
    ...(extended ? { class_level: at(levels, i), learning_materials_charge: at(charges, i) } : {}),
  }));
  return {
    ...(c.given_name !== undefined ? { first_name: listOf(c.given_name).join(' ') } : {}),
    ...(c.family_name !== undefined ? { last_name: listOf(c.family_name).join(' ') } : {}),
    cryptid,
    roles: entries,
    ...(extended && c.learner_id !== undefined ? { learner_id: listOf(c.learner_id).join(';') } : {}),
    ...(extended && c.nickname !== undefined ? { nickname: listOf(c.nickname).join(' ') } : {}),
  };
}

export function createWilmaSimulator(options: WilmaSimulatorOptions): WilmaSimulator {
  const base = new URL(options.baseUrl);
  const baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  const mountPath = base.pathname.replace(/\/+$/, '');
  const users = new Map(options.users.map((u) => [u.username, u]));
  const faults: WilmaSimulator['faults'] = { userData: 'none' };
  const extended = options.extendedAnswer ?? true;
  const views = createViews();
  const stylesheet = readFileSync(resolve(VIEWS_DIR, 'static/testdirectory.css'), 'utf8');
  const stylesheetPath = `${mountPath}/static/testdirectory.css`;
  const sessionKey = createHmac('sha256', options.secret).update('wilma simulator session').digest();
  const usedNonces = new Map<string, number>();
  const schoolName = options.schoolName ?? 'Mansikkalan testikoulu (Wilma)';

  const idsOf = (username: string): { userid: string; cryptid: string } => ({
    userid: username,
    // Stable across restarts and instances: the account's identity at the bridge follows it.
    cryptid: `wilma-${createHash('sha256').update(`cryptid:${username}`).digest('hex').slice(0, 24)}`,
  });

  const sessionValue = (username: string): string => `${username}.${createHmac('sha256', sessionKey).update(username).digest('base64url')}`;
  const sessionUser = (ctx: Context): TestUser | undefined => {
    const value = ctx.cookies.get(SESSION_COOKIE, { signed: false });
    const username = value?.slice(0, value.lastIndexOf('.'));
    if (!value || !username || sessionValue(username).length !== value.length) return undefined;
    return timingSafeEqual(Buffer.from(sessionValue(username)), Buffer.from(value)) ? users.get(username) : undefined;
  };

  const page = (ctx: Context, status: number, error: string, description: string): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render('testdirectory/wilma-error', { error, description, stylesheet: stylesheetPath, schoolName });
  };

  /** The login request of `/mpass`, when its MAC is right: where to go back to and whether to ask again. */
  function loginRequest(query: string): { redirectto: string; forceauth: boolean } | undefined {
    const signed = verifiedPart(options.secret, `${baseUrl}/mpass?${query}`);
    if (!signed) return undefined;
    const params = new URLSearchParams(signed.slice(signed.indexOf('?') + 1));
    const targets = params.getAll('redirectto');
    if (targets.length !== 1) return undefined;
    let target: URL;
    try {
      target = new URL(targets[0]!);
    } catch {
      return undefined;
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') return undefined;
    if (options.returnUrlPrefixes && !options.returnUrlPrefixes.some((prefix) => targets[0]!.startsWith(prefix))) return undefined;
    return { redirectto: targets[0]!, forceauth: params.get('forceauth') === 'true' };
  }

  /** Back to the service that asked, with the user id and a MAC over the whole URL. */
  function sendBack(ctx: Context, redirectto: string, user: TestUser): void {
    const url = `${redirectto}${redirectto.includes('?') ? '&' : '?'}userid=${encodeURIComponent(idsOf(user.username).userid)}`;
    ctx.redirect(`${url}&h=${mac(options.secret, url)}`);
  }

  const renderLogin = (ctx: Context, request: string, extra: { error?: string; username?: string }, status = 200): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render('testdirectory/wilma-login', {
      ...extra,
      request,
      action: `${mountPath}/mpass`,
      stylesheet: stylesheetPath,
      schoolName,
      users: options.users.map((u) => ({ username: u.username, description: u.description.en })),
    });
  };

  const router = new Router();
  // The base URL itself: what the bridge's health check reaches.
  router.get('/', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'Wilma simulator (MPASSid interface: /mpass, /external/mpass)\n';
  });
  router.get('/static/testdirectory.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });
  router.get('/mpass', (ctx) => {
    const request = loginRequest(ctx.querystring);
    if (!request) return page(ctx, 400, 'invalid_request', 'The sign-in request is not signed correctly. Start the sign-in again from the service.');
    const signedIn = sessionUser(ctx);
    // Single sign-on at Wilma, unless the service asked for a fresh login.
    if (signedIn && !request.forceauth) return sendBack(ctx, request.redirectto, signedIn);
    renderLogin(ctx, ctx.querystring, {});
  });
  router.post('/mpass', async (ctx) => {
    const form = loginForm.safeParse(await readForm(ctx));
    const request = form.success ? loginRequest(form.data.request) : undefined;
    if (!form.success || !request) return page(ctx, 400, 'invalid_request', 'The form was not valid. Start the sign-in again from the service.');
    const username = (form.data.username ?? '').trim();
    const user = users.get(username);
    // Always compare (against a decoy for unknown names) so a wrong name costs as much as a wrong password.
    const ok = timingSafeEqual(digest(form.data.password ?? ''), digest(user?.password ?? '\u0000no such user')) && user !== undefined;
    if (!ok) return renderLogin(ctx, form.data.request, { error: 'Wrong username or password. / Väärä käyttäjätunnus tai salasana.', username }, 401);
    ctx.cookies.set(SESSION_COOKIE, sessionValue(user.username), {
      path: mountPath || '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies ?? false,
      signed: false,
    });
    sendBack(ctx, request.redirectto, user);
  });
  router.get('/external/mpass', async (ctx) => {
    const answer = (status: number, body: unknown): void => {
      ctx.status = status;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(body);
    };
    const signed = verifiedPart(options.secret, `${baseUrl}/external/mpass?${ctx.querystring}`);
    // A bridge with another secret is refused as a wrong one is: the MAC does not match.
    if (!signed || faults.userData === 'refuse-mac') return answer(403, { error: 'invalid h' });
    const params = new URLSearchParams(signed.slice(signed.indexOf('?') + 1));
    const usernames = params.getAll('username');
    const nonces = params.getAll('nonce');
    if (usernames.length !== 1 || nonces.length !== 1 || !DATA_NONCE.test(nonces[0]!))
      return answer(400, { error: 'username and a 16-character nonce are required' });
    const now = Date.now();
    for (const [nonce, at] of usedNonces) if (now - at > USED_NONCE_SECONDS * 1000 || usedNonces.size > MAX_USED_NONCES) usedNonces.delete(nonce);
    if (usedNonces.has(nonces[0]!)) return answer(403, { error: 'nonce already used' });
    usedNonces.set(nonces[0]!, now);
    const user = [...users.values()].find((u) => idsOf(u.username).userid === usernames[0]);
    if (!user) return answer(404, { error: 'no such user' });
    const data = answerFor(user, idsOf(user.username).cryptid, extended);
    switch (faults.userData) {
      case 'invalid-json':
        ctx.type = 'application/json';
        ctx.body = '[{"first_name": "Aino", ';
        return;
      case 'not-a-list':
        return answer(200, data);
      case 'hang':
        // No answer until the caller gives up (its timeout closes the connection).
        await new Promise<void>((done) => {
          ctx.req.once('close', done);
          ctx.res.once('close', done);
        });
        return;
      case 'oversized':
        return answer(200, [{ ...data, padding: 'x'.repeat(1024 * 1024) }]);
      case 'two-users':
        return answer(200, [data, { ...data, cryptid: 'wilma-someone-else' }]);
      default:
        return answer(200, [data]);
    }
  });

  const app = new Koa();
  app.use(async (ctx, next) => {
    // The simulated Wilma is a separate site from the bridge: its own, stricter policy (no scripts).
    ctx.set('Content-Security-Policy', DIRECTORY_CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    try {
      await next();
    } catch (err) {
      // A bad form (too large, wrong type) keeps its status; never a stack trace.
      const status = (err as { status?: unknown; expose?: unknown }).expose === true ? Number((err as { status: number }).status) : 500;
      page(ctx, status, status === 500 ? 'server_error' : 'invalid_request', 'The Wilma simulator could not complete the request.');
    } finally {
      if (ctx.response.is('html')) ctx.set('Cache-Control', 'no-store');
    }
  });
  app.use(router.routes());
  return { middleware: subApp(app), faults, idsOf };
}
