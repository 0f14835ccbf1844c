import type { Context } from 'koa';
import { localeOf } from '../http/pages.js';
import { metrics } from '../observability/metrics.js';
import { authnSourceAcr } from '../provider/acr.js';
import { finishInteraction } from '../provider/finish-interaction.js';
import { interactionOf, type LoginContext, loginStart } from './context.js';
import { grantFor } from './grant.js';
import { forgetOutcome, outcomeOf } from './outcome-cookie.js';
import type { LoginOutcomes } from './outcomes.js';

/** The last step: the same browser, with the interaction cookie, turns the directory's outcome into a login. */
export function loginFinish(login: LoginContext, outcomes: LoginOutcomes) {
  const { refuse, lostLogin, serviceGone } = outcomes;

  async function complete(ctx: Context) {
    const details = await interactionOf(login, ctx);
    const locale = localeOf(ctx, details.params.ui_locales, loginStart(details));
    // Read, not taken: the step must be repeatable when a write below fails. After the provider
    // resumes, the interaction is gone, and with it every way back here.
    const outcome = outcomeOf(ctx, details.uid);
    if (!outcome) {
      await lostLogin(ctx, locale, details.uid, 'error.session_expired');
      return;
    }
    const service = String(details.params.client_id);
    // Kept until the user hands it to the service: the page can be reloaded or switched to another language.
    if (!outcome.ok) return refuse(ctx, details.uid, locale, service, outcome);
    const grantId = await grantFor(login, outcome.accountId, service, String(details.params.scope ?? ''), details.grantId);
    if (!grantId) return serviceGone(ctx, locale, service);
    metrics.loginsCompleted.inc({ directory: outcome.directoryId, service });
    forgetOutcome(ctx, login, details.uid);
    await finishInteraction(ctx, details, {
      login: { accountId: outcome.accountId, ts: outcome.authTime, acr: authnSourceAcr(outcome.directoryId), amr: ['ext'], remember: false },
      consent: { grantId },
    });
  }

  return { complete };
}
