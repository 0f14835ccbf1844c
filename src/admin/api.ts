import { underIssuer } from '../http/base-path.js';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import { z } from 'zod';
import { PROFILE_CLAIMS } from '../claims/claim-names.js';
import type { BridgeConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { LIFECYCLE_ACTIONS, LifecycleError, stateOf, type ClientLifecycle, type ServiceRegistry, type LifecycleAction } from '../services/registry.js';
import { MAX_USES, type InitialAccessTokens } from '../services/initial-access.js';
import { enforceRegistrationPolicy } from '../services/registration-rules.js';
import { StoreUnavailableError, type Storage } from '../storage/types.js';
import { refuseCrossSite } from './cross-site.js';
import { OperatorAuthenticator } from './operator-auth.js';
import { ApiError, parse, readJson } from './request.js';
import { requireEnvironment, SERVICE_ACTION_ENVIRONMENT } from './roles.js';
import { addDirectoryRoutes, directoryFailure, type DirectoryRouteDependencies } from './directory-routes.js';

/**
 * The operators' API (JSON only) under /admin/api: initial access tokens, review of registered
 * services, their operator settings and the audit log. HTTP Basic against `admin.operators`; with no
 * operator configured the whole API answers 404. Before anything else, state-changing calls a browser
 * could be made to send from another site are refused (cross-site.ts); sign-ins are throttled before
 * any password is hashed (operator-auth.ts); each action needs the environment it concerns (roles.ts).
 * Documented in docs/admin-api.yaml.
 */

export const ADMIN_PREFIX = '/admin/api';

export interface AdminDependencies extends Omit<DirectoryRouteDependencies, 'config' | 'logger'> {
  config: BridgeConfig;
  provider: Provider;
  registry: ServiceRegistry;
  initialAccessTokens: InitialAccessTokens;
  /** Where failed sign-ins are counted (shared by every instance on Redis). */
  storage: Storage;
  logger: Logger;
}

const issueTokenBody = z
  .object({
    expiresInSeconds: z
      .number()
      .int()
      .min(1)
      .max(90 * 24 * 3600)
      .default(7 * 24 * 3600),
    uses: z.number().int().min(1).max(MAX_USES).default(1),
    note: z.string().max(500).optional(),
  })
  .strict();
const actionBody = z.object({ reason: z.string().max(1000).optional() }).strict();
const settingsBody = z
  .object({
    allowTestLearnerIds: z.boolean().optional(),
    releasedClaims: z
      .array(z.enum(PROFILE_CLAIMS as [string, ...string[]]))
      .nullable()
      .optional(),
    refreshTokens: z.boolean().optional(),
    publicSubject: z.boolean().optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict()
  .refine(
    (b) => b.allowTestLearnerIds !== undefined || b.releasedClaims !== undefined || b.refreshTokens !== undefined || b.publicSubject !== undefined,
    'no setting given',
  );
const listQuery = z.object({ state: z.enum(['pending', 'approved', 'rejected', 'suspended']).optional() }).strict();
const auditQuery = z
  .object({
    clientId: z.string().min(1).optional(),
    directoryId: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
    offset: z.coerce.number().int().min(0).optional(),
  })
  .strict();

/**
 * The client's metadata as operators see it (never its secret or registration access token), also of
 * services the provider of this environment hides (pending, suspended); configured ones from the provider.
 */
async function metadataOf(provider: Provider, registry: ServiceRegistry, clientId: string): Promise<Record<string, unknown> | undefined> {
  const stored = await registry.metadata(clientId);
  if (stored) return stored;
  const client = await provider.Client.find(clientId);
  if (!client) return undefined;
  const { client_secret: _secret, registration_access_token: _rat, ...metadata } = client.metadata() as Record<string, unknown>;
  return metadata;
}

/** Why the registration rules or the provider refused metadata (their OIDC error description). */
const refusalText = (err: unknown): string => (err as { error_description?: string }).error_description ?? (err as Error).message;

/** Metadata an operator approved, checked by the provider's own client validation before it is stored. */
async function validatedMetadata(provider: Provider, metadata: Record<string, unknown>): Promise<Record<string, unknown>> {
  try {
    enforceRegistrationPolicy(metadata, { environment: 'production', refreshTokensAllowed: true, publicSubjectAllowed: true });
    const Client = provider.Client as unknown as new (metadata: ClientMetadata) => { metadata(): ClientMetadata };
    return new Client(metadata as ClientMetadata).metadata() as Record<string, unknown>;
  } catch (err) {
    throw new ApiError(409, 'invalid_metadata', `the change cannot be applied: ${refusalText(err)}`);
  }
}

/**
 * A service is approved (or published to demo) only with metadata that meets that environment's
 * registration rules: e.g. no http redirect URIs in production.
 */
async function requireMetadataFit(registry: ServiceRegistry, clientId: string, action: LifecycleAction): Promise<void> {
  const environment = action === 'approve' ? 'production' : action === 'publish-to-demo' ? 'demo' : undefined;
  if (!environment) return;
  const metadata = await registry.metadata(clientId);
  if (!metadata) return;
  const record = await registry.get(clientId);
  try {
    enforceRegistrationPolicy(structuredClone(metadata), {
      environment,
      refreshTokensAllowed: record?.settings.refreshTokens ?? false,
      publicSubjectAllowed: record?.settings.publicSubject ?? false,
    });
  } catch (err) {
    throw new ApiError(409, 'invalid_metadata', `the service's metadata does not meet the ${environment} rules: ${refusalText(err)}`);
  }
}

const summary = (record: ClientLifecycle, metadata: Record<string, unknown> | undefined) => ({
  clientId: record.clientId,
  clientName: metadata?.client_name,
  state: stateOf(record),
  status: record.status,
  suspended: record.suspended,
  publishedToDemo: record.publishedToDemo,
  changePending: record.pendingChange !== undefined,
  registeredAt: record.registeredAt,
});

export function createAdminApi(deps: AdminDependencies): Middleware {
  const { config, provider, registry, initialAccessTokens, storage, logger } = deps;
  const enabled = config.admin.operators.length > 0;
  const authenticator = new OperatorAuthenticator(config.admin, storage, logger);
  // The issuer's origin is this bridge's, also when a proxy in front changes what the request says.
  const ownOrigins = [new URL(config.issuer).origin];
  const router = new Router({ prefix: ADMIN_PREFIX });

  router.post('/initial-access-tokens', async (ctx) => {
    requireEnvironment(ctx, 'test', 'issuing an initial access token (registration happens in test)');
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
    ctx.body = { clients: await Promise.all(records.map(async (r) => summary(r, await metadataOf(provider, registry, r.clientId)))) };
  });

  router.get('/clients/:clientId', async (ctx) => {
    const clientId = ctx.params.clientId!;
    const record = await registry.get(clientId);
    const metadata = await metadataOf(provider, registry, clientId);
    if (!record || !metadata) throw new ApiError(404, 'not_found', 'no such service');
    ctx.body = {
      ...summary(record, metadata),
      static: record.static,
      metadata,
      settings: record.settings,
      pendingChange: record.pendingChange ?? null,
      history: record.history,
    };
  });

  // A change of reviewed metadata an approved service asked for (see services/metadata-review.ts).
  router.post('/clients/:clientId/change/:decision', async (ctx) => {
    const decision = ctx.params.decision === 'approve' ? 'approve-change' : ctx.params.decision === 'reject' ? 'reject-change' : undefined;
    if (!decision) throw new ApiError(404, 'not_found', 'no such decision; approve or reject');
    requireEnvironment(ctx, 'production', `${decision} of a service`);
    const body = parse(actionBody, await readJson(ctx));
    const entry = await registry.decideChange(
      ctx.params.clientId!,
      decision,
      ctx.state.operator as string,
      (merged) => validatedMetadata(provider, merged),
      body.reason,
    );
    logger.info({ operator: entry.operator, action: decision, clientId: entry.clientId }, 'operator action');
    ctx.body = entry;
  });

  router.post('/clients/:clientId/:action', async (ctx) => {
    const action = ctx.params.action as LifecycleAction;
    if (!LIFECYCLE_ACTIONS.includes(action)) throw new ApiError(404, 'not_found', `no such action; one of ${LIFECYCLE_ACTIONS.join(', ')}`);
    requireEnvironment(ctx, SERVICE_ACTION_ENVIRONMENT[action], `${action} of a service`);
    const body = parse(actionBody, await readJson(ctx));
    await requireMetadataFit(registry, ctx.params.clientId!, action);
    const entry = await registry.act(ctx.params.clientId!, action, ctx.state.operator as string, body.reason);
    logger.info({ operator: entry.operator, action, clientId: entry.clientId }, 'operator action');
    ctx.body = entry;
  });

  router.patch('/clients/:clientId/settings', async (ctx) => {
    requireEnvironment(ctx, 'production', "changing a service's operator settings");
    const { reason, ...patch } = parse(settingsBody, await readJson(ctx));
    const settings = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const entry = await registry.updateSettings(ctx.params.clientId!, settings, ctx.state.operator as string, reason);
    logger.info({ operator: entry.operator, action: entry.action, clientId: entry.clientId }, 'operator action');
    ctx.body = entry;
  });

  router.get('/audit', async (ctx) => {
    const query = parse(auditQuery, ctx.query);
    ctx.body = await registry.auditLog(JSON.parse(JSON.stringify(query)));
  });

  router.get('/audit/verify', async (ctx) => {
    ctx.body = await registry.verifyAuditLog();
  });

  addDirectoryRoutes(router, { ...deps, config, logger });

  const routes = router.routes();
  return async (ctx, next) => {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      if (!enabled) throw new ApiError(404, 'not_found', 'the admin API is disabled (no operators configured)');
      refuseCrossSite(ctx, ownOrigins);
      Object.assign(ctx.state, await authenticator.authenticate(ctx));
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

/**
 * What the public listener does under /admin/api: the admin API itself, or, when `admin.port` serves
 * it on a listener of its own, 404 (the public port then offers nothing to guess passwords at).
 */
export function onPublicListener(config: BridgeConfig, admin: Middleware): Middleware {
  if (config.admin.port === undefined) return admin;
  return async (ctx, next) => {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    ctx.status = 404;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
  };
}
