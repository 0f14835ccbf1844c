import { randomBytes, randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ClaimsEvaluator } from '../../claims/evaluate.js';
import type { BridgeConfig } from '../../config/schema.js';
import { attributeRows, claimRows, type AttributeCheckEvidence, type AttributeRow, type ClaimRow as EvidenceClaimRow } from '../evidence.js';
import type { DirectoryRecords } from '../records.js';
import { basePathOf } from '../../http/base-path.js';
import { isMessageKey, localized, t, type Locale, type MessageKey } from '../../http/i18n.js';
import { localeOf, type PageRenderer } from '../../http/pages.js';
import type { PendingHandoff, DirectoryHandoff } from '../handoff.js';
import type { Logger } from '../../observability/logger.js';
import type { StateStore } from '../../storage/types.js';
import { DirectoryError } from '../errors.js';
import type { CatalogueEntry, DirectoryCatalogue } from '../catalogue.js';
import type { CheckLink, CheckLinks } from './links.js';

/**
 * The attribute check of a directory in testing (or in production, to re-check): the operator or the
 * school's administrator, with a link the operator issued, signs in at the directory with a test
 * account and sees every source attribute and every claim with its status and the rule that failed.
 * Nothing is released to any service: no account, session or grant is made. The result, without the
 * values, is stored on the directory as evidence for its approval.
 */

export const CHECK_PREFIX = '/directory-check';
/** A rule of the validation table in words, in the page's language. */
const ruleText = (id: string, locale: Locale): string => (isMessageKey(`rule.${id}`) ? t(locale, `rule.${id}` as MessageKey) : '');
/** A directory's lifecycle state in words (the raw state stays in data-state for tools). */
const stateText = (state: string | undefined, locale: Locale): string | undefined =>
  state === undefined ? undefined : isMessageKey(`directory.state.${state}`) ? t(locale, `directory.state.${state}` as MessageKey) : state;
/** Why a check failed or was blocked, in words; the code stays beside it for the operator. */
const reasonText = (prefix: 'blocked' | 'error', code: string | undefined, locale: Locale): string | undefined =>
  code === undefined ? undefined : isMessageKey(`${prefix}.${code}`) ? t(locale, `${prefix}.${code}` as MessageKey) : undefined;

export interface DirectoryCheckDependencies {
  config: BridgeConfig;
  catalogue: DirectoryCatalogue;
  directories: DirectoryRecords;
  links: CheckLinks;
  claims: ClaimsEvaluator;
  handoff: DirectoryHandoff;
  pages: PageRenderer;
  logger: Logger;
  /** Short-lived store for a check's result page (see complete). */
  state: StateStore;
}

export interface DirectoryCheck {
  router: Router;
  /** Completes a check that came back through the directory's callback. */
  complete(ctx: Context, pending: PendingHandoff & { checkToken: string }): Promise<void>;
}

/** What one check showed, kept briefly so that its page can be shown again (see complete). */
interface CheckResult {
  token: string;
  directoryId: string;
  state: string;
  outcome: AttributeCheckEvidence['outcome'];
  recorded: boolean;
  attributes?: Array<AttributeRow & { sourceNames: string[]; values: string[] }>;
  claims?: Array<EvidenceClaimRow & { values: unknown[] }>;
  rules?: AttributeCheckEvidence['rules'];
  blockReason?: string;
  error?: string;
}
const RESULT_ID = /^[A-Za-z0-9_-]{24}$/;

const values = (value: string[] | 'malformed' | undefined): string[] => (Array.isArray(value) ? value : []);

export function createDirectoryCheck(deps: DirectoryCheckDependencies): DirectoryCheck {
  const { config, catalogue, directories, links, handoff, pages, logger } = deps;
  const router = new Router({ prefix: CHECK_PREFIX });
  const base = basePathOf(config.issuer);

  function invalidLink(ctx: Context, locale: Locale, messageKey: 'check.invalidLink' | 'check.notCheckable' = 'check.invalidLink'): void {
    pages.error(ctx, locale, { status: messageKey === 'check.invalidLink' ? 404 : 409, messageKey, showBack: false });
  }

  /** The link and its directory, when both are still good for a check. */
  async function usable(link: CheckLink | undefined): Promise<{ link: CheckLink; entry: CatalogueEntry } | 'invalid' | 'not-checkable'> {
    if (!link) return 'invalid';
    const entry = await catalogue.forCheck(link.directoryId);
    return entry ? { link, entry } : 'not-checkable';
  }

  router.get('/:token', async (ctx) => {
    const locale = localeOf(ctx);
    const found = await links.find(ctx.params.token!);
    const checked = await usable(found?.link);
    if (checked === 'invalid') return invalidLink(ctx, locale);
    const record = await directories.get(found!.link.directoryId);
    const state = record?.status ?? (checked === 'not-checkable' ? undefined : checked.entry.status);
    pages.render(ctx, 'directory-check', locale, {
      directoryName: checked === 'not-checkable' ? found!.link.directoryId : localized(checked.entry.directory.displayName, locale),
      state,
      stateText: stateText(state, locale),
      startHref: checked === 'not-checkable' ? undefined : `${base}${CHECK_PREFIX}/${ctx.params.token}/start`,
      notCheckable: checked === 'not-checkable',
    });
  });

  router.get('/:token/start', async (ctx) => {
    const locale = localeOf(ctx);
    const found = await links.find(ctx.params.token!);
    const checked = await usable(found?.link);
    if (checked === 'invalid') return invalidLink(ctx, locale);
    if (checked === 'not-checkable') return invalidLink(ctx, locale, 'check.notCheckable');
    try {
      // A fresh sign-in every time: the administrator checks one test account after another.
      await handoff.redirect(ctx, checked.entry.directory, { checkToken: ctx.params.token! }, { forceLogin: true, uiLocales: locale });
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      logger.warn({ directoryId: checked.entry.directory.id, reason: err.code, err }, 'attribute check could not start');
      pages.error(ctx, locale, { status: 502, messageKey: `error.${err.code}`, showBack: false });
    }
  });

  async function complete(ctx: Context, pending: PendingHandoff & { checkToken: string }): Promise<void> {
    const locale = localeOf(ctx);
    const checked = await usable((await links.find(pending.checkToken))?.link);
    if (checked === 'invalid') return invalidLink(ctx, locale);
    if (checked === 'not-checkable') return invalidLink(ctx, locale, 'check.notCheckable');
    const { link, entry } = checked;
    const directory = entry.directory;
    const evidence: AttributeCheckEvidence = {
      id: randomUUID(),
      at: new Date().toISOString(),
      by: `check-link:${link.id}`,
      linkIssuedBy: link.issuedBy,
      environment: config.environment,
      outcome: 'failed',
      attributes: [],
      claims: [],
      rules: [],
    };
    let page: Omit<CheckResult, 'token' | 'directoryId' | 'state' | 'outcome' | 'recorded'> = {};
    try {
      const identity = await directory.connector.complete(await handoff.callbackOf(ctx, pending), pending.transaction);
      const { values: source, result } = await deps.claims.explain(identity, directory.profile);
      evidence.outcome = result.ok ? 'released' : 'blocked';
      if (!result.ok) evidence.blockReason = result.reason;
      evidence.attributes = attributeRows(source);
      evidence.claims = claimRows(source, result);
      evidence.rules = result.report.map((r) => ({ id: r.id, status: r.status, effect: r.effect }));
      page = {
        attributes: evidence.attributes.map((row) => ({ ...row, sourceNames: directory.profile.mapping[row.name] ?? [], values: values(source[row.name]) })),
        claims: evidence.claims.map((row) => {
          const released = result.ok ? result.claims[row.name] : undefined;
          return { ...row, values: released === undefined ? [] : Array.isArray(released) ? released : [released] };
        }),
        rules: evidence.rules,
      };
      if (evidence.blockReason) page.blockReason = evidence.blockReason;
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      logger.warn({ directoryId: directory.id, reason: err.code, err }, 'attribute check sign-in failed');
      evidence.error = err.code;
      page = { error: err.code };
    }
    // Checks of configuration-file directories are shown but not stored: they have no record.
    const recorded = entry.source === 'registry';
    if (recorded) await directories.recordEvidence(directory.id, evidence);
    logger.info({ directoryId: directory.id, outcome: evidence.outcome, checkLink: link.id }, 'attribute check done');
    // Post/redirect/get: the result page can be reloaded and switched to another language. Its values
    // stay in the short-lived state store only as long as a login may take, never in the evidence.
    const resultId = randomBytes(18).toString('base64url');
    const stored: CheckResult = { ...page, token: pending.checkToken, directoryId: directory.id, state: entry.status, outcome: evidence.outcome, recorded };
    await deps.state.set(`check-result:${resultId}`, stored, config.ttl.interactionSeconds);
    ctx.redirect(`${base}${CHECK_PREFIX}/${pending.checkToken}/result/${resultId}`);
  }

  router.get('/:token/result/:id', async (ctx) => {
    const locale = localeOf(ctx);
    const found = await links.find(ctx.params.token!);
    const result = RESULT_ID.test(ctx.params.id!) ? await deps.state.get<CheckResult>(`check-result:${ctx.params.id}`) : undefined;
    if (!found || !result || result.token !== ctx.params.token) return invalidLink(ctx, locale);
    const entry = await catalogue.forCheck(result.directoryId);
    pages.render(ctx, 'directory-check', locale, {
      directoryName: entry ? localized(entry.directory.displayName, locale) : result.directoryId,
      state: result.state,
      stateText: stateText(result.state, locale),
      outcome: result.outcome,
      attributes: result.attributes,
      claims: result.claims?.map((row) => ({ ...row, ruleText: row.rule ? ruleText(row.rule, locale) : undefined })),
      rules: result.rules?.map((r) => ({
        ...r,
        text: ruleText(r.id, locale),
        effectText: isMessageKey(`effect.${r.effect}`) ? t(locale, `effect.${r.effect}` as MessageKey) : r.effect,
      })),
      blockReason: result.blockReason,
      blockReasonText: reasonText('blocked', result.blockReason, locale),
      error: result.error,
      errorText: reasonText('error', result.error, locale),
      recorded: result.recorded,
      againHref: `${base}${CHECK_PREFIX}/${result.token}`,
    });
  });

  return { router, complete };
}
