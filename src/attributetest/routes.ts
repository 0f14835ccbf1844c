import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { ClientMetadata } from 'oidc-provider';
import * as client from 'openid-client';
import type { BridgeConfig } from '../config/schema.js';
import { localeOf, type PageRenderer } from '../interaction/pages.js';
import type { Logger } from '../observability/logger.js';
import type { StateStore } from '../storage/types.js';
import { classifyUpstreamFailure } from '../upstream/oidc/connector.js';
import { basePathOf, underIssuer } from '../http/base-path.js';
import type { AccountStore } from '../accounts/accounts.js';
import { PROFILE_CLAIMS } from '../claims/claim-names.js';
import { VALIDATION_TABLE } from '../claims/validation-table.js';

const RULE_TEXT = new Map(VALIDATION_TABLE.map((rule) => [rule.id, rule.rule]));

/**
 * The built-in attribute test service: a relying party of the bridge itself, like MPASSid's user-data
 * test service. It signs in through the bridge over HTTP exactly as any service would and lists
 * every claim it received.
 */
export const ATTRIBUTE_TEST_CLIENT_ID = 'attribute-test-service';
const COOKIE = 'mpass_attrtest';
const BASE = '/attribute-test';

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

export interface AttributeTestDependencies {
  config: BridgeConfig;
  /** The validation report of the login is read from the account (the service's sub is public). */
  accounts: AccountStore;
  clientSecret: string;
  state: StateStore;
  pages: PageRenderer;
  logger: Logger;
}

interface ClaimRow {
  name: string;
  values: string[];
  source: string;
  /** received, or not delivered (an MPASSid claim the bridge withheld). */
  delivered: boolean;
}

/** Every claim received, plus every MPASSid claim that was not delivered, in one table. */
function claimRows(idToken: Record<string, unknown>, userinfo: Record<string, unknown>): ClaimRow[] {
  const names = [...new Set([...PROFILE_CLAIMS, ...Object.keys(idToken), ...Object.keys(userinfo)])].sort();
  return names.map((name) => {
    const inIdToken = name in idToken;
    const inUserinfo = name in userinfo;
    if (!inIdToken && !inUserinfo) return { name, values: [], source: '', delivered: false };
    const value = inUserinfo ? userinfo[name] : idToken[name];
    const values = Array.isArray(value) ? value.map(String) : [typeof value === 'string' ? value : JSON.stringify(value)];
    const source = [inIdToken ? 'ID token' : '', inUserinfo ? 'userinfo' : ''].filter(Boolean).join(' + ');
    return { name, values, source, delivered: true };
  });
}

export function createAttributeTestRouter(deps: AttributeTestDependencies): Router {
  const { config, state, pages, logger } = deps;
  const router = new Router({ prefix: BASE });
  const redirectUri = underIssuer(config.issuer, `${BASE}/callback`);
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

  router.get('/', (ctx) => {
    pages.render(ctx, 'attribute-test', localeOf(ctx), { rows: undefined, error: undefined });
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
    ctx.cookies.set(COOKIE, handle, { path: `${basePathOf(config.issuer)}${BASE}`, httpOnly: true, sameSite: 'lax', signed: true, secure: config.issuer.startsWith('https:') });
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      ui_locales: localeOf(ctx),
    };
    if (typeof ctx.query.upstream === 'string' && /^[a-z0-9-]{1,63}$/.test(ctx.query.upstream)) {
      params.acr_values = `urn:mpass.id:authnsource:${ctx.query.upstream}`;
    }
    ctx.redirect(client.buildAuthorizationUrl(cfg, params).href);
  });

  router.get('/callback', async (ctx) => {
    const locale = localeOf(ctx);
    const handle = ctx.cookies.get(COOKIE, { signed: true });
    const pending = handle ? await state.take<PendingLogin>(`attrtest:${handle}`) : undefined;
    if (!pending) {
      pages.render(ctx, 'attribute-test', locale, { rows: undefined, error: 'invalid_state' }, 400);
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
      const rules = (account?.report ?? []).map((r) => ({ ...r, text: RULE_TEXT.get(r.id) ?? '' }));
      pages.render(ctx, 'attribute-test', locale, { rows: claimRows(idToken, userinfo), rules, error: undefined });
    } catch (err) {
      const code = err instanceof client.AuthorizationResponseError ? err.error : classifyUpstreamFailure(err);
      logger.info({ reason: code }, 'attribute test login did not succeed');
      pages.render(ctx, 'attribute-test', locale, { rows: undefined, error: code }, 400);
    }
  });

  return router;
}
