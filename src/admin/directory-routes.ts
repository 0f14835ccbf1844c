import type Router from '@koa/router';
import { z } from 'zod';
import type { BridgeConfig } from '../config/schema.js';
import type { CheckLinks } from '../directories/check/links.js';
import { CHECK_PREFIX } from '../directories/check/routes.js';
import type { DirectoryHealthMonitor } from '../directories/health.js';
import { DIRECTORY_ACTIONS, DIRECTORY_STATUSES, type DirectoryAction } from '../directories/lifecycle.js';
import {
  DirectoryError,
  directoryDefinitionSchema,
  directoryPatchSchema,
  ENV_REFERENCE,
  ENV_REFERENCE_RULE,
  type DirectoryRecord,
  type DirectoryRecords,
  type SecretInput,
} from '../directories/records.js';
import { selfAuditGaps, selfAuditSchema } from '../directories/self-audit.js';
import { underIssuer } from '../http/base-path.js';
import type { Logger } from '../observability/logger.js';
import type { CatalogueEntry, DirectoryCatalogue } from '../directories/catalogue.js';
import { setupOf } from '../directories/connectors/index.js';
import { ADDRESS_FIELDS, typeNeedsSecret, type DirectoryDefinition } from '../directories/definition.js';
import { ApiError, parse, readJson } from './request.js';
import { DIRECTORY_ACTION_ENVIRONMENT, directoryEnvironment, requireEnvironment } from './roles.js';

/**
 * The admin API's part for education providers' directories: add, edit and remove them, record the
 * self-audit, move them through draft → testing → approved → suspended, issue attribute check links
 * and see health. Client secrets go in and are never given out.
 */

export interface DirectoryRouteDependencies {
  config: BridgeConfig;
  directories: DirectoryRecords;
  catalogue: DirectoryCatalogue;
  health: DirectoryHealthMonitor;
  checkLinks: CheckLinks;
  logger: Logger;
}

/** Definitions with thousands of named schools are large; still bounded. */
const DIRECTORY_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

const secretFields = {
  clientSecret: z.string().min(1).max(2000).optional().describe('The client secret at the directory; stored sealed, never returned'),
  clientSecretEnv: z
    .string()
    .regex(ENV_REFERENCE, ENV_REFERENCE_RULE)
    .optional()
    .describe('Or: the environment variable (MPASSID_DIRECTORY_SECRET_…) that holds it on every bridge instance'),
};
const secretBody = z.object(secretFields).strict();
const patchBody = directoryPatchSchema.extend({ ...secretFields, reason: z.string().max(1000).optional() }).strict();
const reasonBody = z.object({ reason: z.string().max(1000).optional() }).strict();
const actionBody = z.object({ reason: z.string().max(1000).optional(), withoutEvidence: z.boolean().optional() }).strict();
const checkLinkBody = z
  .object({
    expiresInSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600)
      .optional(),
    note: z.string().max(500).optional(),
  })
  .strict();
const listQuery = z.object({ status: z.enum(DIRECTORY_STATUSES as [string, ...string[]]).optional() }).strict();

/** A new directory: its definition (checked by its type's settings) and, for types that have one, its secret. */
function parseCreateBody(raw: unknown): { definition: DirectoryDefinition; secret: SecretInput | undefined } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ApiError(400, 'invalid_request', '(body): a directory definition object');
  const { clientSecret, clientSecretEnv, ...fields } = raw as Record<string, unknown>;
  const secrets = parse(secretBody, JSON.parse(JSON.stringify({ clientSecret, clientSecretEnv })));
  const definition = parse(directoryDefinitionSchema, fields);
  const needed = typeNeedsSecret(definition.type);
  if (!needed && (secrets.clientSecret || secrets.clientSecretEnv)) {
    throw new ApiError(400, 'invalid_request', `a ${definition.type} directory has no client secret: leave out clientSecret and clientSecretEnv`);
  }
  return { definition, secret: secretInput(secrets, needed) };
}

function secretInput(body: { clientSecret?: string | undefined; clientSecretEnv?: string | undefined }, required: boolean): SecretInput | undefined {
  if (body.clientSecret && body.clientSecretEnv) throw new ApiError(400, 'invalid_request', 'give clientSecret or clientSecretEnv, not both');
  if (body.clientSecret) return { value: body.clientSecret };
  if (body.clientSecretEnv) return { env: body.clientSecretEnv };
  if (required) throw new ApiError(400, 'invalid_request', 'clientSecret or clientSecretEnv: required');
  return undefined;
}

export function directoryFailure(err: unknown): ApiError | undefined {
  if (!(err instanceof DirectoryError)) return undefined;
  const status = err.code === 'not_found' ? 404 : err.code === 'invalid_secret' || err.code === 'secret_required' ? 400 : 409;
  const detail = err.detail?.length ? `: ${err.detail.join('; ')}` : '';
  return new ApiError(status, err.code, `${err.message}${detail}`);
}

export function addDirectoryRoutes(router: Router, deps: DirectoryRouteDependencies): void {
  const { config, directories, catalogue, health, checkLinks, logger } = deps;
  const production = config.env === 'production';

  /** Production directories and logos are reached over https only. */
  function requireHttps(definition: Record<string, unknown>): void {
    if (!production) return;
    for (const field of ADDRESS_FIELDS) {
      const value = definition[field];
      if (typeof value === 'string' && !value.startsWith('https://')) throw new ApiError(400, 'invalid_request', `${field}: must be https in production`);
    }
  }

  const summaryOf = (entry: CatalogueEntry, record: DirectoryRecord | undefined) => ({
    id: entry.directory.id,
    displayName: entry.directory.displayName,
    provider: entry.directory.listing.provider,
    issuer: entry.directory.listing.issuer,
    status: entry.status,
    source: entry.source,
    schools: entry.directory.listing.schools.length,
    selfAuditComplete: record ? selfAuditGaps(record.selfAudit).length === 0 : undefined,
    latestCheck: record?.evidence.at(-1) ? { at: record.evidence.at(-1)!.at, outcome: record.evidence.at(-1)!.outcome } : undefined,
    health: health.statusOf(entry.directory.id),
  });

  /** Everything an operator reviews before approval; never the secret itself. */
  const detailOf = (record: DirectoryRecord) => {
    const gaps = selfAuditGaps(record.selfAudit);
    return {
      ...record.definition,
      source: 'registry',
      status: record.status,
      ...(record.suspendedFrom ? { suspendedFrom: record.suspendedFrom } : {}),
      clientSecret:
        record.secret.kind === 'env'
          ? { kind: 'env', name: record.secret.name }
          : record.secret.kind === 'none'
            ? null
            : { kind: 'sealed', keyId: record.secret.keyId },
      callbackUrl: underIssuer(config.issuer, `/upstream/${record.definition.id}/callback`),
      // What the education provider configures at their directory (the type's own list, or the redirect URI).
      setup: setupOf(record.definition, config.issuer),
      selfAudit: record.selfAudit ?? null,
      selfAuditUpdatedAt: record.selfAuditUpdatedAt,
      selfAuditGaps: gaps,
      approval: {
        selfAuditComplete: gaps.length === 0,
        passingCheck: record.evidence.some((e) => e.outcome === 'released'),
      },
      evidence: [...record.evidence].reverse(),
      health: health.statusOf(record.definition.id) ?? null,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      history: record.history,
    };
  };

  async function mutableRecord(id: string): Promise<DirectoryRecord> {
    const record = await directories.get(id);
    if (record) return record;
    if (catalogue.staticIds().includes(id)) throw new ApiError(409, 'static_directory', 'the directory is in the configuration file; change the file instead');
    throw new ApiError(404, 'not_found', 'no such directory');
  }

  router.get('/directories', async (ctx) => {
    const query = parse(listQuery, ctx.query);
    const entries = await catalogue.all();
    const records = new Map((await directories.list()).map((r) => [r.definition.id, r]));
    ctx.body = {
      directories: entries.filter((e) => !query.status || e.status === query.status).map((e) => summaryOf(e, records.get(e.directory.id))),
    };
  });

  router.post('/directories', async (ctx) => {
    const { definition, secret } = parseCreateBody(await readJson(ctx, DIRECTORY_BODY_LIMIT_BYTES));
    requireEnvironment(ctx, 'test', 'adding a directory (it starts as a draft for testing)');
    requireHttps(definition);
    const record = await directories.create(definition, secret, ctx.state.operator as string);
    logger.info({ operator: ctx.state.operator, action: 'create', directoryId: definition.id }, 'operator action');
    ctx.status = 201;
    ctx.body = detailOf(record);
  });

  router.post('/directories/health-check', async (ctx) => {
    await health.checkNow();
    ctx.body = { health: health.all() };
  });

  router.get('/directories/:id', async (ctx) => {
    const id = ctx.params.id!;
    const record = await directories.get(id);
    if (record) {
      ctx.body = detailOf(record);
      return;
    }
    const entry = (await catalogue.all()).find((e) => e.directory.id === id && e.source === 'config');
    if (!entry) throw new ApiError(404, 'not_found', 'no such directory');
    ctx.body = { ...summaryOf(entry, undefined), ...entry.directory.listing, source: 'config' };
  });

  router.patch('/directories/:id', async (ctx) => {
    const body = parse(patchBody, await readJson(ctx, DIRECTORY_BODY_LIMIT_BYTES));
    const { clientSecret, clientSecretEnv, reason, ...patch } = body;
    requireHttps(patch);
    requireEnvironment(ctx, directoryEnvironment(await mutableRecord(ctx.params.id!)), 'changing this directory');
    const entry = await directories.update(ctx.params.id!, patch, secretInput({ clientSecret, clientSecretEnv }, false), ctx.state.operator as string, reason);
    logger.info({ operator: entry.operator, action: entry.action, directoryId: entry.directoryId }, 'operator action');
    ctx.body = entry;
  });

  router.delete('/directories/:id', async (ctx) => {
    const body = parse(reasonBody, await readJson(ctx));
    requireEnvironment(ctx, directoryEnvironment(await mutableRecord(ctx.params.id!)), 'removing this directory');
    const entry = await directories.remove(ctx.params.id!, ctx.state.operator as string, body.reason);
    logger.info({ operator: entry.operator, action: entry.action, directoryId: entry.directoryId }, 'operator action');
    ctx.body = entry;
  });

  router.put('/directories/:id/self-audit', async (ctx) => {
    const selfAudit = parse(selfAuditSchema, await readJson(ctx, 64 * 1024));
    requireEnvironment(ctx, directoryEnvironment(await mutableRecord(ctx.params.id!)), "changing this directory's self-audit");
    const entry = await directories.saveSelfAudit(ctx.params.id!, selfAudit, ctx.state.operator as string);
    ctx.body = { ...entry, gaps: selfAuditGaps(selfAudit) };
  });

  router.post('/directories/:id/check-links', async (ctx) => {
    requireEnvironment(ctx, 'test', 'issuing an attribute check link');
    const body = parse(checkLinkBody, await readJson(ctx));
    const id = ctx.params.id!;
    const entry = await catalogue.forCheck(id);
    if (!entry) {
      await mutableRecord(id);
      throw new ApiError(409, 'invalid_transition', 'only a directory in testing or in production can be checked');
    }
    const ttl = body.expiresInSeconds ?? config.directories.checkLinkTtlSeconds;
    const { token, link } = await checkLinks.issue(id, ctx.state.operator as string, ttl, body.note);
    await directories.auditOnly({
      operator: ctx.state.operator as string,
      action: 'issue-check-link',
      directoryId: id,
      detail: { linkId: link.id, expiresAt: link.expiresAt, ...(body.note ? { note: body.note } : {}) },
    });
    ctx.status = 201;
    ctx.body = { url: underIssuer(config.issuer, `${CHECK_PREFIX}/${token}`), id: link.id, expiresAt: link.expiresAt };
  });

  router.get('/directories/:id/check-links', async (ctx) => {
    const id = ctx.params.id!;
    if (!(await catalogue.all()).some((e) => e.directory.id === id)) await mutableRecord(id);
    ctx.body = { links: await checkLinks.list(id) };
  });

  router.delete('/directories/:id/check-links/:linkId', async (ctx) => {
    requireEnvironment(ctx, 'test', 'revoking an attribute check link');
    const { id, linkId } = ctx.params as { id: string; linkId: string };
    const body = parse(reasonBody, await readJson(ctx));
    if (!(await checkLinks.revoke(id, linkId))) throw new ApiError(404, 'not_found', 'no such working check link');
    const entry = await directories.auditOnly({
      operator: ctx.state.operator as string,
      action: 'revoke-check-link',
      directoryId: id,
      detail: { linkId },
      ...(body.reason ? { reason: body.reason } : {}),
    });
    logger.info({ operator: ctx.state.operator, action: 'revoke-check-link', directoryId: id }, 'operator action');
    ctx.body = entry;
  });

  router.post('/directories/:id/:action', async (ctx) => {
    const action = ctx.params.action as DirectoryAction;
    if (!DIRECTORY_ACTIONS.includes(action)) throw new ApiError(404, 'not_found', `no such action; one of ${DIRECTORY_ACTIONS.join(', ')}`);
    requireEnvironment(ctx, DIRECTORY_ACTION_ENVIRONMENT[action], `${action} of a directory`);
    const body = parse(actionBody, await readJson(ctx));
    await mutableRecord(ctx.params.id!);
    const entry = await directories.act(ctx.params.id!, action, ctx.state.operator as string, {
      ...(body.reason ? { reason: body.reason } : {}),
      ...(body.withoutEvidence ? { withoutEvidence: true } : {}),
    });
    logger.info({ operator: entry.operator, action, directoryId: entry.directoryId }, 'operator action');
    ctx.body = entry;
  });
}
