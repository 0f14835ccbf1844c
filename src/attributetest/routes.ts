import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ClientMetadata } from 'oidc-provider';
import * as client from 'openid-client';
import type { BridgeConfig } from '../config/schema.js';
import { localeOf, type PageRenderer } from '../http/pages.js';
import type { Logger } from '../observability/logger.js';
import type { StateStore } from '../storage/types.js';
import { classifyDirectoryFailure } from '../directories/connectors/oidc/connector.js';
import { basePathOf, underIssuer } from '../http/base-path.js';
import { isMessageKey, t, type Locale } from '../http/i18n.js';
import type { AccountStore } from '../accounts/accounts.js';
import { PROFILE_CLAIMS } from '../claims/claim-names.js';
import type { RuleReport } from '../claims/pipeline.js';
import { requestedAuthnSource } from '../provider/acr.js';

/**
 * The built-in attribute test service: a relying party of the bridge itself, like MPASSid's user-data
 * test service. It signs in through the bridge over HTTP exactly as any service would and lists
 * every claim it received. It keeps a small session of its own (the ID token, for signing out, and
 * what it received) so that its page can be reloaded and shown in another language, and offers
 * RP-initiated logout and a forced new login: trying one test user after another needs no clearing
 * of cookies.
 */
export const ATTRIBUTE_TEST_CLIENT_ID = 'attribute-test-service';
const COOKIE = 'mpass_attrtest';
const SESSION_COOKIE = 'mpass_attrtest_session';
const BASE = '/attribute-test';
const DIRECTORY_ID = /^[a-z0-9-]{1,63}$/;

export function attributeTestClient(issuer: string, clientSecret: string): ClientMetadata {
  return {
    client_id: ATTRIBUTE_TEST_CLIENT_ID,
    client_secret: clientSecret,
    client_name: 'MPASSid attribute test service',
    redirect_uris: [underIssuer(issuer, `${BASE}/callback`)],
    post_logout_redirect_uris: [underIssuer(issuer, BASE)],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    subject_type: 'public',
  };
}

interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** What the service holds after a login (or a failed one) until it signs out. */
interface TestSession {
  /** For id_token_hint at logout; absent after a failed login. */
  idToken?: string;
  /** The directory of the login (from acr), where "sign in as another user" goes straight back to. */
  upstream?: string;
  rows?: ClaimRow[];
  report?: RuleReport[];
  error?: { code: string; description?: string };
}

export interface AttributeTestDependencies {
  config: BridgeConfig;
  /** The validation report of the login is read from the account (the service's sub is public). */
  accounts: AccountStore;
  clientSecret: string;
  state: StateStore;
  pages: PageRenderer;
  logger: Logger;
}

type Source = 'idToken' | 'userinfo';

interface ClaimRow {
  name: string;
  values: string[];
  sources: Source[];
  /** received, or not delivered (an MPASSid claim the bridge withheld). */
  delivered: boolean;
}

/** Every claim received, plus every MPASSid claim that was not delivered, in one table. */
function claimRows(idToken: Record<string, unknown>, userinfo: Record<string, unknown>): ClaimRow[] {
  const names = [...new Set([...PROFILE_CLAIMS, ...Object.keys(idToken), ...Object.keys(userinfo)])].sort();
  return names.map((name) => {
    const inIdToken = name in idToken;
    const inUserinfo = name in userinfo;
    if (!inIdToken && !inUserinfo) return { name, values: [], sources: [], delivered: false };
    const value = inUserinfo ? userinfo[name] : idToken[name];
    const values = Array.isArray(value) ? value.map(String) : [typeof value === 'string' ? value : JSON.stringify(value)];
    const sources: Source[] = [...(inIdToken ? ['idToken' as const] : []), ...(inUserinfo ? ['userinfo' as const] : [])];
    return { name, values, sources, delivered: true };
  });
}

/** The session's rows and rule outcomes in a language. */
function pageOf(session: TestSession, locale: Locale): Record<string, unknown> {
  const status = (s: string): string => (isMessageKey(`check.status.${s}`) ? t(locale, `check.status.${s}` as never) : s);
  return {
    rows: session.rows?.map((row) => ({
      ...row,
      status: row.delivered
        ? `${t(locale, 'attr.delivered')} (${row.sources.map((s) => t(locale, `attr.source.${s}`)).join(' + ')})`
        : t(locale, 'attr.notDelivered'),
    })),
    rules: session.report?.map((r) => ({
      id: r.id,
      status: r.status,
      outcome: status(r.status),
      perSchool: r.perSchool && r.perSchool.length > 1 ? r.perSchool.map(status) : undefined,
      text: isMessageKey(`rule.${r.id}`) ? t(locale, `rule.${r.id}` as never) : '',
      effect: t(locale, `effect.${r.effect}`),
      dropped: r.dropped,
    })),
    error: session.error
      ? {
          code: session.error.code,
          description: session.error.description,
          message: t(locale, isMessageKey(`attr.error.${session.error.code}`) ? (`attr.error.${session.error.code}` as never) : 'attr.error.other'),
        }
      : undefined,
  };
}

export function createAttributeTestRouter(deps: AttributeTestDependencies): Router {
  const { config, state, pages, logger } = deps;
  const router = new Router({ prefix: BASE });
  const redirectUri = underIssuer(config.issuer, `${BASE}/callback`);
  const home = underIssuer(config.issuer, BASE);
  const cookiePath = `${basePathOf(config.issuer)}${BASE}`;
  const cookieOptions = {
    path: cookiePath,
    httpOnly: true,
    sameSite: 'lax' as const,
    signed: true,
    secure: config.issuer.startsWith('https:'),
    overwrite: true,
  };
  let configuration: Promise<client.Configuration> | undefined;

  const discover = (): Promise<client.Configuration> => {
    configuration ??= client
      .discovery(new URL(config.issuer), ATTRIBUTE_TEST_CLIENT_ID, undefined, client.ClientSecretBasic(deps.clientSecret), {
        timeout: config.upstreamHttp.timeoutMs / 1000,
        execute: config.issuer.startsWith('http:') ? [client.allowInsecureRequests] : [],
      })
      .catch((err: unknown) => {
        configuration = undefined;
        throw err;
      });
    return configuration;
  };

  async function sessionOf(ctx: Context): Promise<{ handle: string; session: TestSession } | undefined> {
    const handle = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    const session = handle ? await state.get<TestSession>(`attrtest-session:${handle}`) : undefined;
    return handle && session ? { handle, session } : undefined;
  }

  /** Keeps what the login gave under a new handle (a new login never continues an old session). */
  async function keep(ctx: Context, session: TestSession): Promise<void> {
    const previous = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    if (previous) await state.delete(`attrtest-session:${previous}`);
    const handle = randomBytes(24).toString('base64url');
    await state.set(`attrtest-session:${handle}`, session, config.ttl.sessionSeconds);
    ctx.cookies.set(SESSION_COOKIE, handle, cookieOptions);
  }

  router.get('/', async (ctx) => {
    const locale = localeOf(ctx);
    // Back from the bridge's logout: the state names the logout this browser started.
    const signedOut =
      typeof ctx.query.state === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(ctx.query.state)
        ? (await state.take<boolean>(`attrtest-logout:${ctx.query.state}`)) === true
        : false;
    const current = signedOut ? undefined : await sessionOf(ctx);
    const session = current?.session ?? {};
    pages.render(
      ctx,
      'attribute-test',
      locale,
      {
        ...pageOf(session, locale),
        signedIn: Boolean(session.idToken),
        signedOut,
        switchHref: `${basePathOf(config.issuer)}${BASE}/login?prompt=login${session.upstream ? `&upstream=${session.upstream}` : ''}`,
      },
      session.error ? 400 : 200,
    );
  });

  router.get('/login', async (ctx) => {
    const cfg = await discover();
    const pending: PendingLogin = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const handle = randomBytes(24).toString('base64url');
    await state.set(`attrtest:${handle}`, pending, config.ttl.upstreamTransactionSeconds);
    ctx.cookies.set(COOKIE, handle, cookieOptions);
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      ui_locales: localeOf(ctx),
    };
    if (typeof ctx.query.upstream === 'string' && DIRECTORY_ID.test(ctx.query.upstream)) {
      params.acr_values = `urn:mpass.id:authnsource:${ctx.query.upstream}`;
    }
    // "Sign in as another user": a new login at the directory even while the SSO session lasts.
    if (ctx.query.prompt === 'login') params.prompt = 'login';
    ctx.redirect(client.buildAuthorizationUrl(cfg, params).href);
  });

  router.get('/callback', async (ctx) => {
    const handle = ctx.cookies.get(COOKIE, { signed: true });
    const pending = handle ? await state.take<PendingLogin>(`attrtest:${handle}`) : undefined;
    if (!pending) {
      await keep(ctx, { error: { code: 'invalid_state' } });
      ctx.redirect(home);
      return;
    }
    const current = new URL(redirectUri);
    current.search = ctx.querystring;
    try {
      const cfg = await discover();
      const tokens = await client.authorizationCodeGrant(cfg, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idToken = (tokens.claims() ?? {}) as Record<string, unknown>;
      const userinfo = await client.fetchUserInfo(cfg, tokens.access_token, String(idToken.sub));
      const account = await deps.accounts.find(String(idToken.sub));
      // The directory of the login: from acr when the service asked for one, else from the account.
      const upstream = requestedAuthnSource(typeof idToken.acr === 'string' ? idToken.acr : undefined) ?? account?.directoryId;
      await keep(ctx, {
        ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
        ...(upstream && DIRECTORY_ID.test(upstream) ? { upstream } : {}),
        rows: claimRows(idToken, userinfo),
        report: account?.report ?? [],
      });
    } catch (err) {
      const code = err instanceof client.AuthorizationResponseError ? err.error : classifyDirectoryFailure(err);
      // The bridge's explanation to the service (fixed texts, no personal data), shown as received.
      const description = err instanceof client.AuthorizationResponseError ? err.error_description : undefined;
      logger.info({ reason: code }, 'attribute test login did not succeed');
      await keep(ctx, { error: { code, ...(description ? { description: description.slice(0, 500) } : {}) } });
    }
    // Post/redirect/get: the page can be reloaded and switched to another language.
    ctx.redirect(home);
  });

  /** RP-initiated logout: the bridge's SSO session ends, and the bridge sends the browser back here. */
  router.get('/logout', async (ctx) => {
    const current = await sessionOf(ctx);
    if (current) await state.delete(`attrtest-session:${current.handle}`);
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions);
    const logoutState = client.randomState();
    await state.set(`attrtest-logout:${logoutState}`, true, config.ttl.interactionSeconds);
    const cfg = await discover();
    ctx.redirect(
      client.buildEndSessionUrl(cfg, {
        ...(current?.session.idToken ? { id_token_hint: current.session.idToken } : { client_id: ATTRIBUTE_TEST_CLIENT_ID }),
        post_logout_redirect_uri: home,
        state: logoutState,
        ui_locales: localeOf(ctx),
      }).href,
    );
  });

  return router;
}
