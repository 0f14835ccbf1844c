import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import Provider, { type Configuration } from 'oidc-provider';
import { z } from 'zod';
import { subApp } from '../http/compose.js';
import { cookieSigner } from '../http/cookie-signer.js';
import { readForm } from '../http/form.js';
import { createViews, VIEWS_DIR } from '../http/views.js';
import { finishInteraction } from '../provider/finish-interaction.js';
import type { AdapterFactory } from '../storage/types.js';
import type { TestUser } from './users.js';
import { isLocale, localized, pickLocale, t, type Locale, type MessageKey } from '../http/i18n.js';
import { languageLinks } from '../http/pages.js';

export interface TestDirectoryOptions {
  /** Absolute issuer URL including the mount path, e.g. http://localhost:3000/test-directory. */
  issuer: string;
  clients: Array<{
    client_id: string;
    client_secret: string;
    redirect_uris: string[];
    token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
  }>;
  /** false: the user's claims only at userinfo, as some directories do (default true: in the ID token too). */
  claimsInIdToken?: boolean;
  users: TestUser[];
  /** The school shown on the login page, in fi/sv/en (default the test school). */
  schoolName?: string | { fi: string; sv?: string | undefined; en?: string | undefined };
  /** Private signing JWKs (RS256). */
  jwks: { keys: Array<Record<string, unknown>> };
  cookieKeys: string[];
  /** Shared store (so a login can move between bridge processes); oidc-provider's memory otherwise. */
  adapter?: AdapterFactory;
  /** True when the issuer is https: cookies get the Secure flag and pages an HSTS header. */
  secureCookies?: boolean;
}

export interface TestDirectory {
  provider: Provider;
  /** Serves paths relative to the mount point (mount it with mountAt at the issuer's path). */
  middleware: Middleware;
}

/** The raw claims a directory user carries, all released under `profile` (the bridge maps them). */
export const DIRECTORY_CLAIMS = [
  'given_name',
  'family_name',
  'nickname',
  'learner_id',
  'school_codes',
  'groups',
  'group_levels',
  'roles',
  'learning_materials_charges',
] as const;

/**
 * The directory is a separate site from the bridge: its own, stricter policy. No scripts of its own;
 * script-src is spelled out so that oidc-provider can add the hash of the one inline script it
 * writes: the form that ends the previous user's session when another user signs in (without it,
 * "sign in as another user" stops on that form).
 */
export const DIRECTORY_CSP = "default-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

const uidParam = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const loginForm = z
  .object({
    action: z.enum(['login', 'cancel']),
    /** The page's language, so that a page shown again after the post keeps it. */
    lang: z.string().max(10).optional(),
    username: z.string().max(200).optional(),
    password: z.string().max(200).optional(),
  })
  .strict();

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Compares fixed-length digests so neither the content nor the length of the password leaks through timing. */
function passwordMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** An error oidc-provider or our form reader raised on purpose: its status and text are meant for the user. */
function clientError(err: unknown): { status: number; error: string; description: string } | undefined {
  const e = err as { status?: unknown; expose?: unknown; error?: unknown; error_description?: unknown; message?: unknown };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500 || e.expose !== true) return undefined;
  const description = typeof e.error_description === 'string' ? e.error_description : String(e.message ?? '');
  return { status: e.status, error: typeof e.error === 'string' ? e.error : 'invalid_request', description };
}

function directoryHeaders(hsts: boolean): Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', DIRECTORY_CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    try {
      await next();
    } finally {
      if (ctx.response.is('html')) ctx.set('Cache-Control', 'no-store');
    }
  };
}

function errorPage(render: (ctx: Context, error: string, description?: string) => string): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      // Never a stack trace: known client errors keep their status, anything else is a plain 500.
      const known = clientError(err);
      ctx.status = known?.status ?? 500;
      ctx.type = 'html';
      ctx.body = render(ctx, known?.error ?? 'server_error', known?.description);
    }
  };
}

/** The page language: a language link, then what the bridge asked for (ui_locales), then the browser. */
function pageLocale(ctx: Context, uiLocales?: unknown): Locale {
  const linked = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  return pickLocale(linked ?? (typeof uiLocales === 'string' ? uiLocales : undefined), ctx.get('accept-language'));
}

/**
 * The bundled test school directory: a real OpenID Provider with a login form and a catalogue of
 * test users. The bridge signs in here over HTTP exactly as at a real school's directory.
 */
export function createTestDirectory(options: TestDirectoryOptions): TestDirectory {
  const mountPath = new URL(options.issuer).pathname.replace(/\/+$/, '');
  const users = new Map(options.users.map((u) => [u.username, u]));
  const views = createViews();
  const stylesheet = readFileSync(resolve(VIEWS_DIR, 'static/testdirectory.css'), 'utf8');
  const stylesheetPath = `${mountPath}/static/testdirectory.css`;
  const schoolNameIn = (locale: Locale): string => {
    const name = options.schoolName ?? { fi: 'Mansikkalan testikoulu', sv: 'Mansikkala testskola', en: 'Mansikkala test school' };
    return typeof name === 'string' ? name : localized(name, locale);
  };
  const pageData = (ctx: Context, locale: Locale) => ({
    locale,
    t: (key: MessageKey) => t(locale, key),
    languageLinks: languageLinks(ctx),
    schoolName: schoolNameIn(locale),
    stylesheet: stylesheetPath,
  });
  const renderError = (ctx: Context, error: string, description?: string): string =>
    views.render('testdirectory/error', { ...pageData(ctx, pageLocale(ctx)), error, description });
  const cookie = { httpOnly: true, sameSite: 'lax' as const, secure: options.secureCookies ?? false, signed: true };

  const configuration: Configuration = {
    ...(options.adapter ? { adapter: options.adapter } : {}),
    clients: options.clients.map((c) => ({
      ...c,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    })),
    jwks: options.jwks as Configuration['jwks'],
    cookies: {
      keys: cookieSigner(options.cookieKeys) as unknown as string[],
      long: cookie,
      short: cookie,
      // The bridge serves its own provider on the same host: distinct names keep the two sessions apart.
      names: { session: 'testdir_session', interaction: 'testdir_interaction', resume: 'testdir_resume' },
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: [...DIRECTORY_CLAIMS] },
    // Like many school directories, everything is in the ID token; the bridge needs no userinfo call.
    conformIdTokenClaims: options.claimsInIdToken === false,
    features: { devInteractions: { enabled: false }, resourceIndicators: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` },
    ttl: { Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
    async findAccount(_ctx, sub) {
      const user = users.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...user.claims }) };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = renderError(ctx, out.error, out.error_description);
    },
  };
  const provider = new Provider(options.issuer, configuration);

  type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

  /** Auto-consent: extends the session's grant (or a new one) by whatever the request still misses. */
  async function grantFor(details: Details, accountId: string): Promise<string> {
    const clientId = String(details.params.client_id);
    const existing = details.grantId && details.session?.accountId === accountId ? await provider.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope);
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    return grant.save();
  }

  async function finishConsent(ctx: Context, details: Details): Promise<void> {
    // The session already names the account, so the result needs only the consent part.
    const grantId = await grantFor(details, details.session!.accountId);
    await finishInteraction(ctx, details, { consent: { grantId } });
  }

  const renderLogin = (ctx: Context, uid: string, locale: Locale, extra: { error?: MessageKey; username?: string }, status = 200): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render('testdirectory/login', {
      ...pageData(ctx, locale),
      username: extra.username,
      error: extra.error ? t(locale, extra.error) : undefined,
      action: `${mountPath}/interaction/${uid}`,
      users: options.users.map((u) => ({ username: u.username, description: localized(u.description, locale) })),
    });
  };

  const router = new Router();
  router.get('/static/testdirectory.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });
  router.get('/interaction/:uid', async (ctx) => {
    if (!uidParam.safeParse(ctx.params.uid).success) ctx.throw(400, 'unknown sign-in', { expose: true });
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    // Someone already signed in here who only needs a wider grant: no page, as there is no consent screen.
    if (details.prompt.name === 'consent' && details.session) return finishConsent(ctx, details);
    renderLogin(ctx, details.uid, pageLocale(ctx, details.params.ui_locales), {});
  });
  router.post('/interaction/:uid', async (ctx) => {
    if (!uidParam.safeParse(ctx.params.uid).success) ctx.throw(400, 'unknown sign-in', { expose: true });
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const parsed = loginForm.safeParse(await readForm(ctx));
    const posted = parsed.success && isLocale(parsed.data.lang) ? parsed.data.lang : undefined;
    const locale = posted ?? pageLocale(ctx, details.params.ui_locales);
    if (!parsed.success) {
      renderLogin(ctx, details.uid, locale, { error: 'testdir.invalidForm' }, 400);
      return;
    }
    if (parsed.data.action === 'cancel') {
      await finishInteraction(ctx, details, { error: 'access_denied', error_description: 'the user cancelled the sign-in' });
      return;
    }
    if (details.prompt.name === 'consent' && details.session) return finishConsent(ctx, details);
    const username = (parsed.data.username ?? '').trim();
    const user = users.get(username);
    // Always compare (against a decoy for unknown names) so a wrong name costs the same as a wrong password.
    const ok = passwordMatches(parsed.data.password ?? '', user?.password ?? '\u0000no such user') && user !== undefined;
    if (!ok) {
      renderLogin(ctx, details.uid, locale, { error: 'testdir.wrong', username }, 401);
      return;
    }
    // Login and consent in one step: the grant covers the requested scopes, so no second round trip.
    const grantId = await grantFor(details, user.username);
    await finishInteraction(ctx, details, { login: { accountId: user.username }, consent: { grantId } });
  });

  const app = new Koa();
  app.use(directoryHeaders(options.secureCookies ?? false));
  app.use(errorPage(renderError));
  app.use(router.routes());
  app.use(subApp(provider));
  const stack = subApp(app);

  // oidc-provider reads some cookies through the host's ctx.cookies (keyed with the host app's keys):
  // while the directory handles a request it gets cookies keyed with its own keys, so it works the same
  // wherever it is mounted; the host's come back for anything the directory hands on.
  const middleware: Middleware = async (ctx, next) => {
    const hostCookies = ctx.cookies;
    const cookies = provider.createContext(ctx.req, ctx.res).cookies;
    cookies.secure = ctx.secure;
    ctx.cookies = cookies;
    try {
      await stack(ctx, async () => {
        ctx.cookies = hostCookies;
        await next();
      });
    } finally {
      ctx.cookies = hostCookies;
    }
  };
  return { provider, middleware };
}
