import { underIssuer } from '../http/base-path.js';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { PROFILE_CLAIMS } from '../claims/claim-names.js';
import type { BridgeConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import {
  LIFECYCLE_ACTIONS,
  LifecycleError,
  stateOf,
  type ClientLifecycle,
  type ClientRegistry,
  type LifecycleAction,
} from '../provider/client-policy.js';
import { MAX_USES, type InitialAccessTokens } from '../registration/initial-access.js';
import { StoreUnavailableError } from '../storage/types.js';
import { DUMMY_HASH, verifyPassword } from './passwords.js';
import { ApiError, parse, readJson } from './request.js';
import { addDirectoryRoutes, directoryFailure, type DirectoryRouteDependencies } from './directory-routes.js';

/**
 * The operators' API (JSON only) under /admin/api: initial access tokens, review of registered
 * services, their operator settings and the audit log. HTTP Basic against `admin.operators`; with no
 * operator configured the whole API answers 404. Documented in docs/admin-api.yaml.
 */

export const ADMIN_PREFIX = '/admin/api';

export interface AdminDependencies extends Omit<DirectoryRouteDependencies, 'config' | 'logger'> {
  config: BridgeConfig;
  provider: Provider;
  registry: ClientRegistry;
  initialAccessTokens: InitialAccessTokens;
  logger: Logger;
}

const issueTokenBody = z
  .object({
    expiresInSeconds: z.number().int().min(1).max(90 * 24 * 3600).default(7 * 24 * 3600),
    uses: z.number().int().min(1).max(MAX_USES).default(1),
    note: z.string().max(500).optional(),
  })
  .strict();
const actionBody = z.object({ reason: z.string().max(1000).optional() }).strict();
const settingsBody = z
  .object({
    allowTestLearnerIds: z.boolean().optional(),
    releasedClaims: z.array(z.enum(PROFILE_CLAIMS as [string, ...string[]])).nullable().optional(),
    refreshTokens: z.boolean().optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .refine((b) => b.allowTestLearnerIds !== undefined || b.releasedClaims !== undefined || b.refreshTokens !== undefined, 'no setting given');
const listQuery = z.object({ state: z.enum(['pending', 'approved', 'rejected', 'suspended']).optional() }).strict();
const auditQuery = z.object({ clientId: z.string().min(1).optional(), directoryId: z.string().min(1).optional(), limit: z.coerce.number().int().min(1).max(10_000).optional() }).strict();

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The client's metadata as operators see it: never its secret or registration access token. */
async function metadataOf(provider: Provider, clientId: string): Promise<Record<string, unknown> | undefined> {
  const client = await provider.Client.find(clientId);
  if (!client) return undefined;
  const { client_secret: _secret, registration_access_token: _rat, ...metadata } = client.metadata() as Record<string, unknown>;
  return metadata;
}

const summary = (record: ClientLifecycle, metadata: Record<string, unknown> | undefined) => ({
  clientId: record.clientId,
  clientName: metadata?.client_name,
  state: stateOf(record),
  status: record.status,
  suspended: record.suspended,
  publishedToDemo: record.publishedToDemo,
  registeredAt: record.registeredAt,
});

export function createAdminApi(deps: AdminDependencies): Middleware {
  const { config, provider, registry, initialAccessTokens, logger } = deps;
  const operators = new Map(config.admin.operators.map((o) => [o.username, o.passwordHash]));
  const router = new Router({ prefix: ADMIN_PREFIX });

  router.use(async (ctx, next) => {
    const credentials = parseBasic(ctx.get('authorization'));
    // The hash is always computed (of a dummy for unknown names) and compared in constant time.
    const hash = (credentials && operators.get(credentials.username)) ?? DUMMY_HASH;
    const matches = await verifyPassword(credentials?.password ?? '', hash);
    const valid = matches && credentials !== undefined && operators.has(credentials.username);
    if (!valid) throw new ApiError(401, 'unauthorized', 'operator credentials required (HTTP Basic)', { 'WWW-Authenticate': 'Basic realm="mpassid-admin"' });
    ctx.state.operator = credentials.username;
    await next();
  });

  router.post('/initial-access-tokens', async (ctx) => {
    const body = parse(issueTokenBody, await readJson(ctx));
    const issued = await initialAccessTokens.issue(provider, body.expiresInSeconds, body.uses);
    await registry.audit({
      operator: ctx.state.operator as string,
      action: 'issue-initial-access-token',
      detail: { tokenId: issued.id.slice(0, 8), uses: issued.uses, expiresAt: issued.expiresAt, ...(body.note ? { note: body.note } : {}) },
    });
    ctx.status = 201;
    ctx.body = { initialAccessToken: issued.token, expiresAt: issued.expiresAt, uses: issued.uses, registrationEndpoint: underIssuer(config.issuer, '/reg') };
  });

  router.get('/clients', async (ctx) => {
    const query = parse(listQuery, ctx.query);
    const records = await registry.list(query.state);
    ctx.body = { clients: await Promise.all(records.map(async (r) => summary(r, await metadataOf(provider, r.clientId)))) };
  });

  router.get('/clients/:clientId', async (ctx) => {
    const clientId = ctx.params.clientId!;
    const record = await registry.get(clientId);
    const metadata = await metadataOf(provider, clientId);
    if (!record || !metadata) throw new ApiError(404, 'not_found', 'no such service');
    ctx.body = { ...summary(record, metadata), static: record.static, metadata, settings: record.settings, history: record.history };
  });

  router.post('/clients/:clientId/:action', async (ctx) => {
    const action = ctx.params.action as LifecycleAction;
    if (!LIFECYCLE_ACTIONS.includes(action)) throw new ApiError(404, 'not_found', `no such action; one of ${LIFECYCLE_ACTIONS.join(', ')}`);
    const body = parse(actionBody, await readJson(ctx));
    const entry = await registry.act(ctx.params.clientId!, action, ctx.state.operator as string, body.reason);
    logger.info({ operator: entry.operator, action, clientId: entry.clientId }, 'operator action');
    ctx.body = entry;
  });

  router.patch('/clients/:clientId/settings', async (ctx) => {
    const { reason, ...patch } = parse(settingsBody, await readJson(ctx));
    const settings = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const entry = await registry.updateSettings(ctx.params.clientId!, settings, ctx.state.operator as string, reason);
    logger.info({ operator: entry.operator, action: entry.action, clientId: entry.clientId }, 'operator action');
    ctx.body = entry;
  });

  router.get('/audit', async (ctx) => {
    const query = parse(auditQuery, ctx.query);
    ctx.body = {
      entries: await registry.auditLog({
        ...(query.clientId ? { clientId: query.clientId } : {}),
        ...(query.directoryId ? { directoryId: query.directoryId } : {}),
        ...(query.limit ? { limit: query.limit } : {}),
      }),
    };
  });

  addDirectoryRoutes(router, { ...deps, config, logger });

  const routes = router.routes();
  return async (ctx, next) => {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      if (operators.size === 0) throw new ApiError(404, 'not_found', 'the admin API is disabled (no operators configured)');
      await (routes as unknown as Middleware)(ctx, async () => {});
      if (ctx.body === undefined) throw new ApiError(ctx.status === 405 ? 405 : 404, 'not_found', 'no such endpoint');
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      let failure: ApiError;
      if (err instanceof ApiError) failure = err;
      else if (err instanceof LifecycleError) failure = new ApiError(err.code === 'not_found' ? 404 : 409, err.code, err.message);
      else if (directoryFailure(err)) failure = directoryFailure(err)!;
      else {
        logger.error({ err, path: ctx.path }, 'admin API error');
        failure = new ApiError(500, 'server_error', 'unexpected error');
      }
      ctx.status = failure.status;
      for (const [name, value] of Object.entries(failure.headers)) ctx.set(name, value);
      ctx.body = { error: failure.code, error_description: failure.message };
    }
  };
}
