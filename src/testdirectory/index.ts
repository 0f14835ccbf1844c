import { timingSafeEqual, createHash } from 'node:crypto';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import Provider, { type Configuration } from 'oidc-provider';
import { finishInteraction } from '../provider/finish-interaction.js';
import { z } from 'zod';
import { subApp } from '../http/compose.js';
import { cookieSigner } from '../http/cookie-signer.js';
import { readForm, FormError } from '../http/form.js';
import { securityHeaders } from '../http/security-headers.js';
import { createViews } from '../http/views.js';
import type { AdapterFactory } from '../storage/types.js';
import type { TestUser } from './users.js';

export interface TestDirectoryOptions {
  /** Absolute issuer URL including the mount path, e.g. http://localhost:3000/test-directory. */
  issuer: string;
  clients: Array<{ client_id: string; client_secret: string; redirect_uris: string[] }>;
  users: TestUser[];
  jwks: { keys: Array<Record<string, unknown>> };
  cookieKeys: string[];
  /** The store (shared when the bridge uses Redis, so a login can move between processes). */
  adapter: AdapterFactory;
  secureCookies?: boolean;
}

export interface TestDirectory {
  provider: Provider;
  /** Serves paths relative to the mount point (mount it with mountAt at the issuer's path). */
  middleware: Middleware;
}

/** The raw claims a directory user carries, all released under `profile`. */
const DIRECTORY_CLAIMS = [
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

const loginForm = z.object({
  action: z.enum(['login', 'cancel']),
  username: z.string().max(200).optional(),
  password: z.string().max(200).optional(),
});

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Constant-time comparison that does not reveal the length of the stored password. */
function passwordMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The bundled test school directory: a real OpenID Provider with a login form and a catalogue of
 * test users. The bridge signs in here over HTTP exactly as at a real school's directory.
 */
export function createTestDirectory(options: TestDirectoryOptions): TestDirectory {
  const mountPath = new URL(options.issuer).pathname.replace(/\/+$/, '');
  const users = new Map(options.users.map((u) => [u.username, u]));
  const views = createViews();
  const cookie = { httpOnly: true, sameSite: 'lax' as const, secure: options.secureCookies ?? false, signed: true };

  const configuration: Configuration = {
    adapter: options.adapter,
    clients: options.clients.map((c) => ({
      ...c,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: options.jwks as Configuration['jwks'],
    cookies: {
      keys: cookieSigner(options.cookieKeys) as unknown as string[],
      long: cookie,
      short: cookie,
      names: { session: 'testdir_session', interaction: 'testdir_interaction', resume: 'testdir_resume' },
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: [...DIRECTORY_CLAIMS] },
    // Like many school directories, everything is in the ID token; no userinfo call is needed.
    conformIdTokenClaims: false,
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
      ctx.body = views.render('testdirectory/error', { error: out.error, description: out.error_description });
    },
  } as Configuration;
  const provider = new Provider(options.issuer, configuration);

  const render = (ctx: Context, data: { uid: string; error?: string; username?: string }, status = 200): void => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render('testdirectory/login', {
      ...data,
      action: `${mountPath}/interaction/${data.uid}`,
      users: options.users.map((u) => ({ username: u.username, description: u.description.en })),
    });
  };

  const router = new Router();
  router.get('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    render(ctx, { uid: details.uid });
  });
  router.post('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const parsed = loginForm.safeParse(await readForm(ctx));
    if (!parsed.success) {
      render(ctx, { uid: details.uid, error: 'The form was not valid.' }, 400);
      return;
    }
    if (parsed.data.action === 'cancel') {
      await finishInteraction(ctx, details, { error: 'access_denied', error_description: 'the user cancelled' });
      return;
    }
    const username = (parsed.data.username ?? '').trim();
    const user = users.get(username);
    if (!user || !passwordMatches(parsed.data.password ?? '', user.password)) {
      render(ctx, { uid: details.uid, error: 'Wrong username or password.', username }, 401);
      return;
    }
    const grant = new provider.Grant({ accountId: user.username, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    await finishInteraction(ctx, details, { login: { accountId: user.username }, consent: { grantId } });
  });

  const app = new Koa();
  app.keys = cookieSigner(options.cookieKeys) as unknown as Koa['keys'];
  app.silent = true;
  app.use(securityHeaders({ hsts: options.secureCookies ?? false }));
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      ctx.status = err instanceof FormError ? err.status : 400;
      ctx.type = 'html';
      ctx.body = views.render('testdirectory/error', { error: 'invalid_request', description: 'The sign-in could not continue. Start again from the service.' });
    }
  });
  app.use(router.routes());
  app.use(subApp(provider));
  return { provider, middleware: subApp(app) };
}
