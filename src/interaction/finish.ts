import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import { localeOf } from '../http/pages.js';
import { metrics } from '../observability/metrics.js';
import { authnSourceAcr } from '../provider/acr.js';
import { finishInteraction } from '../provider/finish-interaction.js';
import { interactionOf, type LoginContext, loginStart } from './context.js';
import { grantFor } from './grant.js';
import { outcomeOf } from './outcome-cookie.js';
import type { LoginOutcome, LoginOutcomes } from './outcomes.js';

/** How a login ends: as a login handed back to the provider, or as a page the user hands to the service. */
export function loginFinish(login: LoginContext, outcomes: LoginOutcomes) {
  const { refuse, lostLogin, serviceGone } = outcomes;

  /**
   * A checked and released login becomes the interaction's result, and the browser goes back to the
   * provider's resume route (whose cookie, too, only the browser that started the login holds).
   */
  async function finishLogin(ctx: Context, interaction: Interaction, outcome: Extract<LoginOutcome, { ok: true }>): Promise<void> {
    const service = String(interaction.params.client_id);
    const grantId = await grantFor(login, outcome.accountId, service, String(interaction.params.scope ?? ''), interaction.grantId);
    if (!grantId) return serviceGone(ctx, localeOf(ctx, interaction.params.ui_locales, loginStart(interaction)), service);
    metrics.loginsCompleted.inc({ directory: outcome.directoryId, service });
    await finishInteraction(ctx, interaction, {
      login: { accountId: outcome.accountId, ts: outcome.authTime, acr: authnSourceAcr(outcome.directoryId), amr: ['ext'], remember: false },
      consent: { grantId },
    });
  }

  /**
   * The page of a login that ended without a user, for the browser holding the interaction: it can be
   * reloaded or switched to another language until the user hands the error to the service.
   */
  async function failed(ctx: Context) {
    const details = await interactionOf(login, ctx);
    const locale = localeOf(ctx, details.params.ui_locales, loginStart(details));
    const outcome = outcomeOf(ctx, details.uid);
    if (!outcome) {
      await lostLogin(ctx, locale, details.uid, 'error.session_expired');
      return;
    }
    await refuse(ctx, details.uid, locale, String(details.params.client_id), outcome);
  }

  return { finishLogin, failed };
}

export type LoginFinish = ReturnType<typeof loginFinish>;
