import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountSnapshot } from '../accounts/accounts.js';
import type { BlockReason } from '../claims/validation-table.js';
import type { LearnerIdKind } from '../claims/formats.js';
import type { DirectoryErrorCode } from '../directories/errors.js';
import { localized, t } from '../http/i18n.js';
import { finishInteraction } from '../provider/finish-interaction.js';
import type { ReleaseUser } from '../services/release.js';
import { interactionOf, type Locale, type LoginContext, uidParam } from './context.js';

/** What the callback learned: a login for the provider, or a failure for its page at /interaction/<uid>/complete. */
export type LoginOutcome =
  | { ok: true; accountId: string; directoryId: string; authTime: number; learnerIdKind: LearnerIdKind }
  // ref: the request in which the directory failed; its log line has the cause, so its page shows that reference.
  | { ok: false; directoryId: string; code: DirectoryErrorCode; ref?: string | undefined }
  | { ok: false; directoryId: string; code: 'attributes_blocked'; reason: BlockReason; ref?: string | undefined }
  | { ok: false; directoryId: string; code: 'service_not_allowed' }
  | { ok: false; directoryId: string; code: 'directory_not_in_use' }
  // The service may no longer sign users in here (suspended during the login, say): it gets nothing.
  | { ok: false; directoryId: string; code: 'service_not_allowed_here' };
/** The directory's checked answer before anything is written: the account to save and the outcome, or a failure. */
export type Identified = Exclude<LoginOutcome, { ok: true }> | { ok: true; account: AccountSnapshot; outcome: Extract<LoginOutcome, { ok: true }> };
/** A login that ended without a user. */
export type LoginFailure = Exclude<LoginOutcome, { ok: true }>;

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

/** How a login ends without a user: the pages that explain why, and the OIDC error the service receives. */
export function loginOutcomes(login: LoginContext) {
  const { provider, catalogue, pages, logger, base } = login;

  /** The service left this environment during the login (suspended, say): it gets nothing more. */
  function serviceGone(ctx: Context, locale: Locale, clientId: string): void {
    logger.info({ clientId }, 'login finished for a service no longer allowed here');
    pages.error(ctx, locale, { status: 400, messageKey: 'error.oidc', showBack: false });
  }

  /**
   * The end of every login, a directory login or single sign-on: may this service have this user?
   * The failure it becomes when not (a page for the user, an OIDC error for the service).
   */
  async function refusalFor(user: ReleaseUser, clientId: string): Promise<LoginFailure | undefined> {
    const decision = await login.release.decide(user, clientId);
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
  async function refuse(ctx: Context, uid: string, locale: Locale, clientId: string, outcome: LoginFailure) {
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
    locale: Locale,
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
   * The login's transaction or outcome is gone (expired, or lost with the store). When the
   * interaction is still known, the page's button hands the service an OIDC error, so the user
   * returns to the service rather than to nowhere.
   */
  async function lostLogin(
    ctx: Context,
    locale: Locale,
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

  async function abort(ctx: Context) {
    const details = await interactionOf(login, ctx);
    await finishInteraction(ctx, details, serviceErrorFor(abortReason.parse(ctx.query.reason)));
  }

  return { refusalFor, refuse, showFailure, lostLogin, serviceGone, abort };
}

export type LoginOutcomes = ReturnType<typeof loginOutcomes>;
