import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { accountIdFor, type AccountSnapshot, type AccountStore } from '../accounts/accounts.js';
import type { ClaimsEvaluator } from '../claims/evaluate.js';
import type { LearnerIdKind } from '../claims/formats.js';
import type { BlockReason } from '../claims/validation-table.js';
import type { ServiceRegistry } from '../services/registry.js';
import type { BridgeConfig } from '../config/schema.js';
import { basePathOf } from '../http/base-path.js';
import { localized, t } from '../http/i18n.js';
import { ATTRIBUTE_TEST_CLIENT_ID } from '../attributetest/routes.js';
import type { Logger } from '../observability/logger.js';
import { metrics, timed } from '../observability/metrics.js';
import { currentRequestId } from '../observability/request-context.js';
import { authnSourceAcr, requestedAuthnSource } from '../provider/acr.js';
import { finishInteraction } from '../provider/finish-interaction.js';
import type { StateStore } from '../storage/types.js';
import { DirectoryError, type DirectoryErrorCode } from '../directories/errors.js';
import type { DirectoryCatalogue } from '../directories/catalogue.js';
import type { Directory } from '../directories/connectors/index.js';
import type { CallbackRequest, DirectoryTransaction } from '../directories/connectors/types.js';
import type { SchoolNames } from '../directories/school-names.js';
import { chooserModel, LAST_CHOICE_COOKIE, rememberChoice } from './chooser.js';
import { languageLinks, localeOf, type PageRenderer } from '../http/pages.js';
import { RetryMemo } from '../http/retry-memo.js';
import type { PendingHandoff, DirectoryHandoff } from '../directories/handoff.js';
import type { ReleaseGate } from '../provider/release-gate.js';
import type { ReleaseUser } from '../services/release.js';

export interface InteractionDependencies {
  provider: Provider;
  config: BridgeConfig;
  subjectSalt: string;
  catalogue: DirectoryCatalogue;
  claims: ClaimsEvaluator;
  services: ServiceRegistry;
  state: StateStore;
  accounts: AccountStore;
  pages: PageRenderer;
  logger: Logger;
  handoff: DirectoryHandoff;
  /** What a service may receive of a user (services/release.ts), asked at the end of every login. */
  release: ReleaseGate;
  /** Completes an operator's attribute check that came back through a directory's callback. */
  completeCheck?: (ctx: Context, pending: PendingHandoff & { checkToken: string }) => Promise<void>;
  /** Whether a directory is marked unavailable by the health checks (shown in the chooser). */
  isUnavailable?: (directoryId: string) => boolean;
  /** Names of schools that directories list by code only. */
  schoolNames?: SchoolNames;
}

/** How long the chooser waits for school names being looked up for the first time. */
const SCHOOL_NAME_WAIT_MS = 300;

async function named(directories: Directory[], names: SchoolNames | undefined) {
  if (!names) return directories.map((c) => c.listing);
  for (const c of directories) names.withNames(c.listing);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([names.settled(), new Promise<void>((done) => (timer = setTimeout(done, SCHOOL_NAME_WAIT_MS)))]);
  clearTimeout(timer);
  return directories.map((c) => names.withNames(c.listing));
}

/** When the service's request began this login: a language the user picks after it outranks its ui_locales. */
function loginStart(details: { iat?: unknown }): number | undefined {
  return typeof details.iat === 'number' ? details.iat : undefined;
}

/** How long a directory's checked answer is kept for the same browser's repeat of the callback. */
const IDENTIFICATION_WINDOW_MS = 2 * 60 * 1000;

/** What the callback learned, handed to the interaction (which has the interaction cookie). */
type LoginOutcome =
  | { ok: true; accountId: string; directoryId: string; authTime: number; learnerIdKind: LearnerIdKind }
  // ref: the request in which the directory failed; its log line has the cause, so its page shows that reference.
  | { ok: false; directoryId: string; code: DirectoryErrorCode; ref?: string | undefined }
  | { ok: false; directoryId: string; code: 'attributes_blocked'; reason: BlockReason; ref?: string | undefined }
  | { ok: false; directoryId: string; code: 'service_not_allowed' }
  | { ok: false; directoryId: string; code: 'directory_not_in_use' }
  // The service may no longer sign users in here (suspended during the login, say): it gets nothing.
  | { ok: false; directoryId: string; code: 'service_not_allowed_here' };
/** The directory's checked answer before anything is written: the account to save and the outcome, or a failure. */
type Identified = Exclude<LoginOutcome, { ok: true }> | { ok: true; account: AccountSnapshot; outcome: Extract<LoginOutcome, { ok: true }> };
const uidParam = z.string().regex(/^[A-Za-z0-9_-]{10,64}$/);
const directoryParam = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);
const abortReason = z
  .enum([
    'user_cancelled',
    'directory_denied',
    'directory_unavailable',
    'directory_timeout',
    'directory_invalid_response',
    'attributes_blocked',
    'service_not_allowed',
    'directory_not_in_use',
    'login_lost',
  ])
  .catch('user_cancelled');

/** The OIDC error a service receives when a login ends without a user. */
function serviceErrorFor(reason: z.infer<typeof abortReason>): { error: string; error_description: string } {
  switch (reason) {
    case 'directory_unavailable':
    case 'directory_timeout':
      return { error: 'temporarily_unavailable', error_description: 'the school directory is not available' };
    case 'directory_invalid_response':
      return { error: 'access_denied', error_description: 'the school directory response was not valid' };
    case 'service_not_allowed':
      return { error: 'access_denied', error_description: "the user's school does not allow this service" };
    case 'directory_not_in_use':
      return { error: 'access_denied', error_description: 'the school directory is not in use in this environment' };
    case 'attributes_blocked':
      return { error: 'access_denied', error_description: 'the school directory did not provide the required user information' };
    case 'directory_denied':
      return { error: 'access_denied', error_description: 'the school directory did not authenticate the user' };
    case 'login_lost':
      return { error: 'access_denied', error_description: 'the login expired before it was finished' };
    default:
      return { error: 'access_denied', error_description: 'the user cancelled the login' };
  }
}

export function createInteractionRouter(deps: InteractionDependencies): Router {
  const { provider, config, catalogue, state, accounts, pages, logger, services, handoff } = deps;
  const router = new Router();
  const secureCookie = config.issuer.startsWith('https://');
  const loginTtl = config.ttl.interactionSeconds;

  const base = basePathOf(config.issuer);

  /** The service's authorization request again (the parameters oidc-provider kept with the interaction). */
  function authorizationRequestOf(params: Record<string, unknown>): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (typeof value === 'string' || typeof value === 'number') query.set(name, String(value));
    }
    return `${base}/auth?${query}`;
  }

  /** Reads the interaction of this browser; the path uid must be the cookie's interaction. */
  async function interactionOf(ctx: Context) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (!uidParam.safeParse(ctx.params.uid).success || details.uid !== ctx.params.uid) {
      throw new DirectoryError('directory_transaction_invalid', 'interaction uid does not match this browser');
    }
    return details;
  }

  /**
   * MPASSid services rely on the federation's own approval, so consent is granted without a page.
   * Undefined when the service no longer exists here (e.g. an operator suspended it mid-login).
   */
  async function grantFor(accountId: string, clientId: string, scope: string, existingGrantId?: string): Promise<string | undefined> {
    const client = await provider.Client.find(clientId);
    if (!client) return undefined;
    const existing = existingGrantId ? await provider.Grant.find(existingGrantId) : undefined;
    const grant = existing && existing.accountId === accountId && existing.clientId === clientId ? existing : new provider.Grant({ accountId, clientId });
    // The grant's lifetime depends on the client (ttl.Grant): outside an oidc-provider request the
    // grant itself is the only way to hand it over.
    grant.client = client;
    grant.addOIDCScope(
      scope
        .split(' ')
        .filter((s) => s === 'openid' || s === 'profile')
        .join(' '),
    );
    const expiresAt = Math.floor(Date.now() / 1000) + grant.remainingTTL;
    const grantId = await grant.save();
    // Everything the grant issues reads the account snapshot, and nothing of it works past the grant
    // (oidc-provider checks the grant at token and userinfo): keep the snapshot as long as the grant.
    await accounts.keepUntil(accountId, expiresAt + 60);
    return grantId;
  }

  /** The service left this environment during the login (suspended, say): it gets nothing more. */
  function serviceGone(ctx: Context, locale: ReturnType<typeof localeOf>, clientId: string): void {
    logger.info({ clientId }, 'login finished for a service no longer allowed here');
    pages.error(ctx, locale, { status: 400, messageKey: 'error.oidc', showBack: false });
  }

  async function startDirectoryLogin(ctx: Context, interactionUid: string, params: Record<string, unknown>, directory: Directory, since: number | undefined) {
    const prompt = typeof params.prompt === 'string' ? params.prompt.split(' ') : [];
    const maxAge =
      typeof params.max_age === 'number'
        ? params.max_age
        : Number.isInteger(Number(params.max_age)) && params.max_age !== undefined
          ? Number(params.max_age)
          : undefined;
    const service = String(params.client_id);
    try {
      await handoff.redirect(
        ctx,
        directory,
        { interactionUid, clientId: service },
        {
          forceLogin: prompt.includes('login'),
          ...(maxAge !== undefined ? { maxAge } : {}),
          uiLocales: localeOf(ctx, params.ui_locales, since),
        },
      );
      metrics.loginsStarted.inc({ directory: directory.id, service });
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      logger.warn({ directoryId: directory.id, reason: err.code, err }, 'directory login could not start');
      metrics.loginsFailed.inc({ directory: directory.id, service, reason: err.code });
      await showFailure(ctx, interactionUid, localeOf(ctx, params.ui_locales, since), { ok: false, directoryId: directory.id, code: err.code });
    }
  }

  /**
   * The end of every login, a directory login or single sign-on: may this service have this user?
   * The failure it becomes when not (a page for the user, an OIDC error for the service).
   */
  async function refusalFor(user: ReleaseUser, clientId: string): Promise<Exclude<LoginOutcome, { ok: true }> | undefined> {
    const decision = await deps.release.decide(user, clientId);
    if (decision.released) return undefined;
    logger.info({ directoryId: user.directoryId, clientId, reason: decision.reason }, 'login refused for this service');
    const directoryId = user.directoryId;
    switch (decision.reason) {
      case 'directory_not_in_use':
      case 'service_not_allowed':
        return { ok: false, directoryId, code: decision.reason };
      case 'test_learner_id':
        return { ok: false, directoryId, code: 'attributes_blocked', reason: 'learner_id_invalid' };
      default:
        return { ok: false, directoryId, code: 'service_not_allowed_here' };
    }
  }

  /** Shows the failure of a login, or the page of a service that left this environment during it. */
  async function refuse(ctx: Context, uid: string, locale: ReturnType<typeof localeOf>, clientId: string, outcome: Exclude<LoginOutcome, { ok: true }>) {
    if (outcome.code === 'service_not_allowed_here') return serviceGone(ctx, locale, clientId);
    await showFailure(ctx, uid, locale, outcome);
  }

  /**
   * Explains the failure to the user; the button hands the matching OIDC error to the service. A
   * blocked user also learns who can fix it (whoever looks after the school's accounts, in the named
   * directory) and gets the reference of the request whose log line has the failed rules.
   */
  async function showFailure(
    ctx: Context,
    uid: string,
    locale: ReturnType<typeof localeOf>,
    outcome: Exclude<LoginOutcome, { ok: true } | { code: 'service_not_allowed_here' }>,
  ): Promise<void> {
    const reason = abortReason.parse(outcome.code);
    const blocked = outcome.code === 'attributes_blocked';
    const directory = blocked ? await catalogue.get(outcome.directoryId) : undefined;
    pages.error(ctx, locale, {
      status: outcome.code === 'directory_timeout' || outcome.code === 'directory_unavailable' ? 502 : 400,
      messageKey: `error.${outcome.code}`,
      showBack: false,
      reference: 'ref' in outcome ? outcome.ref : undefined,
      extra: {
        continueHref: `${base}/interaction/${uid}/abort?reason=${reason}`,
        ...(blocked
          ? {
              missing: t(locale, `blocked.${outcome.reason}`),
              nextStep: t(locale, 'error.attributes_blocked.next', {
                directory: directory ? localized(directory.listing.displayName, locale) : outcome.directoryId,
              }),
            }
          : {}),
      },
    });
  }

  /**
   * The directory's answer, checked (or the reason there is no account). No store writes: a
   * directory's answer can be used once only (its code is spent at the directory), so the result is
   * kept for the same browser's repeat while the writes that follow may fail and be repeated.
   */
  async function identify(directory: Directory, callback: CallbackRequest, transaction: DirectoryTransaction, clientId: string): Promise<Identified> {
    const directoryId = directory.id;
    try {
      // The connector's calls to the directory (token, user data, metadata), as the bridge waits for them.
      const identity = await timed(
        metrics.directoryCalls,
        { directory: directoryId, operation: 'complete' },
        () => directory.connector.complete(callback, transaction),
        (err) => (err instanceof DirectoryError ? err.code : 'error'),
      );
      const evaluated = await deps.claims.evaluate(identity, directory.profile);
      if (!evaluated.ok) {
        return { ok: false, directoryId, code: 'attributes_blocked', reason: evaluated.reason, ref: currentRequestId() };
      } else {
        const accountId = accountIdFor(deps.subjectSalt, identity.directoryId, identity.subject);
        logger.info({ directoryId }, 'directory login succeeded');
        const account: AccountSnapshot = {
          accountId,
          directoryId: identity.directoryId,
          claims: evaluated.claims,
          learnerIdKind: evaluated.learnerIdKind,
          report: evaluated.report,
          updatedAt: Math.floor(Date.now() / 1000),
        };
        // Refused here, the user's details are never stored for this login.
        const refusal = await refusalFor(account, clientId);
        if (refusal) return refusal;
        return { ok: true, account, outcome: { ok: true, accountId, directoryId, authTime: identity.authTime, learnerIdKind: evaluated.learnerIdKind } };
      }
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      logger.warn({ directoryId, reason: err.code, err }, 'directory login failed');
      return { ok: false, directoryId, code: err.code, ref: currentRequestId() };
    }
  }

  /** Directory answers by transaction handle, for the same browser's repeat of a callback (see identify). */
  const identifications = new RetryMemo<Promise<Identified>>(IDENTIFICATION_WINDOW_MS);

  /**
   * The login's transaction or outcome is gone (expired, or lost with the store). When the
   * interaction is still known, the page's button hands the service an OIDC error, so the user
   * returns to the service rather than to nowhere.
   */
  async function lostLogin(
    ctx: Context,
    locale: ReturnType<typeof localeOf>,
    uid: string | undefined,
    messageKey: 'error.directory_transaction_invalid' | 'error.session_expired',
  ): Promise<void> {
    const known = uid !== undefined && uidParam.safeParse(uid).success && (await provider.Interaction.find(uid)) !== undefined;
    pages.error(ctx, locale, {
      status: 400,
      messageKey,
      ...(known ? { showBack: false, extra: { continueHref: `${base}/interaction/${uid}/abort?reason=login_lost` } } : {}),
    });
  }

  router.get('/interaction/:uid', async (ctx) => {
    const details = await interactionOf(ctx);
    const { params, prompt } = details;
    const locale = localeOf(ctx, params.ui_locales, loginStart(details));

    if (prompt.name === 'login') {
      const requested = requestedAuthnSource(params.acr_values);
      const direct = requested ? await catalogue.get(requested) : undefined;
      if (direct) return startDirectoryLogin(ctx, details.uid, params, direct, loginStart(details));
      const client = await provider.Client.find(String(params.client_id));
      const listings = await named(await catalogue.list(), deps.schoolNames);
      pages.render(ctx, 'chooser', locale, {
        // The built-in test service's name is ours to translate; a service's own name is its own.
        clientName: client?.clientId === ATTRIBUTE_TEST_CLIENT_ID ? t(locale, 'attr.title') : client?.clientName,
        ...chooserModel({
          directories: listings.map((listing) => ({ listing, unavailable: deps.isUnavailable?.(listing.id) ?? false })),
          locale,
          loginHref: (id) => `${base}/interaction/${details.uid}/login/${id}`,
          query: typeof ctx.query.q === 'string' ? ctx.query.q : undefined,
          lastChoice: ctx.cookies.get(LAST_CHOICE_COOKIE) ?? undefined,
        }),
        searchAction: `${base}/interaction/${details.uid}`,
        cancelHref: `${base}/interaction/${details.uid}/abort`,
        languageLinks: languageLinks(ctx),
      });
      return;
    }

    if (prompt.name === 'consent' && details.session?.accountId) {
      const snapshot = await accounts.find(details.session.accountId);
      if (!snapshot) {
        // It expired since /auth checked it: the same authorization request again meets the login
        // check for it (account_unavailable in create-provider.ts), and the user signs in anew.
        ctx.redirect(authorizationRequestOf(params));
        return;
      }
      const refusal = await refusalFor(snapshot, String(params.client_id));
      if (refusal) return refuse(ctx, details.uid, locale, String(params.client_id), refusal);
      const grantId = await grantFor(details.session.accountId, String(params.client_id), String(params.scope ?? ''), details.grantId);
      if (!grantId) return serviceGone(ctx, locale, String(params.client_id));
      return finishInteraction(ctx, details, { consent: { grantId } });
    }
    throw new DirectoryError('directory_transaction_invalid', `unexpected prompt ${prompt.name}`);
  });

  router.get('/interaction/:uid/login/:directoryId', async (ctx) => {
    const details = await interactionOf(ctx);
    const connector = directoryParam.safeParse(ctx.params.directoryId).success ? await catalogue.get(ctx.params.directoryId!) : undefined;
    if (!connector || details.prompt.name !== 'login') {
      pages.error(ctx, localeOf(ctx, details.params.ui_locales, loginStart(details)), { status: 404, messageKey: 'error.unknown_directory' });
      return;
    }
    rememberChoice(ctx, connector.id, { path: base || '/', secure: secureCookie });
    await startDirectoryLogin(ctx, details.uid, details.params, connector, loginStart(details));
  });

  router.get('/interaction/:uid/abort', async (ctx) => {
    const details = await interactionOf(ctx);
    await finishInteraction(ctx, details, serviceErrorFor(abortReason.parse(ctx.query.reason)));
  });

  /** The directory's callback: a redirect (GET) or, for SAML, a cross-site form post (POST). */
  const callback = async (ctx: Context & { params: Record<string, string> }) => {
    const locale = localeOf(ctx);
    const directoryId = ctx.params.directoryId!;
    if (!directoryParam.safeParse(directoryId).success) {
      pages.error(ctx, locale, { status: 404, messageKey: 'error.unknown_directory' });
      return;
    }
    const { pending, hadCookie, handle, interactionUid } = await handoff.take(ctx, directoryId);
    if (!pending || !handle) {
      logger.info({ directoryId, reason: hadCookie ? 'unknown transaction' : 'no transaction cookie' }, 'directory callback refused');
      await lostLogin(ctx, locale, interactionUid, 'error.directory_transaction_invalid');
      return;
    }
    if ('checkToken' in pending) {
      handoff.settle(ctx, directoryId);
      if (!deps.completeCheck) throw new DirectoryError('directory_transaction_invalid', 'attribute checks are not served here');
      await deps.completeCheck(ctx, pending);
      return;
    }
    // A repeat of this callback by the same browser (after a 503) reuses the directory's answer.
    let identified = identifications.get(handle);
    if (!identified) {
      const current = await handoff.callbackOf(ctx, pending);
      // The directory may have been suspended while the user was signing in there.
      const directory = await catalogue.get(directoryId);
      identified = directory
        ? identify(directory, current, pending.transaction, pending.clientId ?? '')
        : Promise.resolve({ ok: false, directoryId, code: 'directory_not_in_use' });
      identifications.set(handle, identified);
      const first = identified;
      identified.then(
        (result) => {
          metrics.loginDuration.observe({ directory: directoryId, outcome: result.ok ? 'ok' : result.code }, Date.now() / 1000 - pending.transaction.startedAt);
          if (!result.ok) metrics.loginsFailed.inc({ directory: directoryId, service: pending.clientId ?? 'unknown', reason: result.code });
        },
        // An unexpected error is not kept: the repeat tries again (and meets the same error page).
        () => {
          if (identifications.get(handle) === first) identifications.delete(handle);
        },
      );
    }
    const result = await identified;
    if (result.ok) await accounts.save(result.account);
    await state.set(`login:${pending.interactionUid}`, result.ok ? result.outcome : result, loginTtl);
    handoff.settle(ctx, directoryId);
    ctx.redirect(`${base}/interaction/${pending.interactionUid}/complete`);
  };
  router.get('/upstream/:directoryId/callback', callback);
  router.post('/upstream/:directoryId/callback', callback);

  router.get('/interaction/:uid/complete', async (ctx) => {
    const details = await interactionOf(ctx);
    const locale = localeOf(ctx, details.params.ui_locales, loginStart(details));
    // Read, not taken: only this browser reaches it (the interaction cookie), and the step must be
    // repeatable when a write below fails. After the provider resumes, the interaction is gone, and
    // with it every way back here; the outcome expires with the login.
    const outcome = await state.get<LoginOutcome>(`login:${details.uid}`);
    if (!outcome) {
      await lostLogin(ctx, locale, details.uid, 'error.session_expired');
      return;
    }
    const service = String(details.params.client_id);
    // Kept until the user hands it to the service: the page can be reloaded or switched to another language.
    if (!outcome.ok) return refuse(ctx, details.uid, locale, service, outcome);
    const grantId = await grantFor(outcome.accountId, service, String(details.params.scope ?? ''), details.grantId);
    if (!grantId) return serviceGone(ctx, locale, service);
    metrics.loginsCompleted.inc({ directory: outcome.directoryId, service });
    await finishInteraction(ctx, details, {
      login: { accountId: outcome.accountId, ts: outcome.authTime, acr: authnSourceAcr(outcome.directoryId), amr: ['ext'], remember: false },
      consent: { grantId },
    });
  });

  return router;
}
