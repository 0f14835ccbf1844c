import type { Context } from 'koa';
import { accountIdFor, type AccountSnapshot } from '../accounts/accounts.js';
import type { Directory } from '../directories/connectors/index.js';
import type { CallbackRequest, DirectoryTransaction } from '../directories/connectors/types.js';
import { DirectoryError } from '../directories/errors.js';
import { localeOf } from '../http/pages.js';
import { RetryMemo } from '../http/retry-memo.js';
import { metrics, timed } from '../observability/metrics.js';
import { currentRequestId } from '../observability/request-context.js';
import { directoryParam, type LoginContext } from './context.js';
import type { LoginFinish } from './finish.js';
import { keepOutcome } from './outcome-cookie.js';
import type { Identified, LoginFailure, LoginOutcomes } from './outcomes.js';

/** How long a directory's checked answer is kept for the same browser's repeat of the callback. */
const IDENTIFICATION_WINDOW_MS = 2 * 60 * 1000;

/**
 * The directory's answer: checked, evaluated and decided once, whatever the number of times the
 * browser delivers it. A login the service may have is finished at once; a failure waits for the same
 * browser at /interaction/<uid>/complete, where the interaction cookie is sent.
 */
export function directoryCallbacks(login: LoginContext, outcomes: LoginOutcomes, finish: LoginFinish) {
  const { provider, catalogue, accounts, pages, logger, handoff, base } = login;
  const { refusalFor, lostLogin } = outcomes;

  /**
   * The directory's answer, checked (or the reason there is no account). No store writes: a
   * directory's answer can be used once only (its code is spent at the directory), so the result is
   * kept for the same browser's repeat while the writes that follow may fail and be repeated.
   */
  async function identify(directory: Directory, callback: CallbackRequest, transaction: DirectoryTransaction): Promise<Identified> {
    const directoryId = directory.id;
    try {
      // The connector's calls to the directory (token, user data, metadata), as the bridge waits for them.
      const identity = await timed(
        metrics.directoryCalls,
        { directory: directoryId, operation: 'complete' },
        () => directory.connector.complete(callback, transaction),
        (err) => (err instanceof DirectoryError ? err.code : 'error'),
      );
      const evaluated = await login.claims.evaluate(identity, directory.profile);
      if (!evaluated.ok) {
        return { ok: false, directoryId, code: 'attributes_blocked', reason: evaluated.reason, ref: currentRequestId() };
      } else {
        const accountId = accountIdFor(login.subjectSalt, identity.directoryId, identity.subject);
        logger.info({ directoryId }, 'directory login succeeded');
        const account: AccountSnapshot = {
          accountId,
          directoryId: identity.directoryId,
          claims: evaluated.claims,
          learnerIdKind: evaluated.learnerIdKind,
          report: evaluated.report,
          updatedAt: Math.floor(Date.now() / 1000),
        };
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

  /** The directory's callback: a redirect (GET) or, for SAML, a cross-site form post (POST). */
  async function receive(ctx: Context & { params: Record<string, string> }) {
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
      if (!login.completeCheck) throw new DirectoryError('directory_transaction_invalid', 'attribute checks are not served here');
      await login.completeCheck(ctx, pending);
      return;
    }
    // A repeat of this callback by the same browser (after a 503) reuses the directory's answer.
    let identified = identifications.get(handle);
    if (!identified) {
      const current = await handoff.callbackOf(ctx, pending);
      // The directory may have been suspended while the user was signing in there.
      const directory = await catalogue.get(directoryId);
      identified = directory ? identify(directory, current, pending.transaction) : Promise.resolve({ ok: false, directoryId, code: 'directory_not_in_use' });
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
    const identification = await identified;
    if (!identification.ok) return failed(ctx, pending.interactionUid, directoryId, identification);
    // Decided after the directory's answer is memoised: reading the records may fail with the store,
    // and the reload that follows must not ask the directory again (its codes are single use). The
    // interaction is read alongside (one round trip for both).
    const [refusal, interaction] = await Promise.all([
      refusalFor(identification.account, pending.clientId ?? ''),
      provider.Interaction.find(pending.interactionUid),
    ]);
    if (refusal) {
      metrics.loginsFailed.inc({ directory: directoryId, service: pending.clientId ?? 'unknown', reason: refusal.code });
      return failed(ctx, pending.interactionUid, directoryId, refusal);
    }
    // This browser is the one the interaction sent to the directory: it holds the transaction's
    // cookie, and the provider's resume route checks its own. The transaction names the interaction.
    if (!interaction || interaction.params.client_id !== pending.clientId) {
      await lostLogin(ctx, locale, undefined, 'error.session_expired');
      return;
    }
    // A refused user's details are never stored for this login.
    await accounts.save(identification.account);
    await finish.finishLogin(ctx, interaction, identification.outcome);
    // Settled only now: if a write failed, the browser's reload repeats this step with its cookie.
    handoff.settle(ctx, directoryId);
  }

  /** A login without a user: its page waits at /complete, where the interaction cookie is sent. */
  function failed(ctx: Context, interactionUid: string, directoryId: string, outcome: LoginFailure): void {
    keepOutcome(ctx, login, interactionUid, outcome);
    handoff.settle(ctx, directoryId);
    ctx.redirect(`${base}/interaction/${interactionUid}/complete`);
  }

  return { receive };
}
