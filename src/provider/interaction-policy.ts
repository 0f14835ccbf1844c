import { interactionPolicy } from 'oidc-provider';
import type { DirectoryCatalogue } from '../directories/catalogue.js';
import { authnSourceAcr, requestedAuthnSource } from './acr.js';

/**
 * The default prompts, plus: a service that names a directory with acr_values gets a user who signed
 * in at that directory, even when an SSO session from another directory exists; and a session whose
 * account snapshot is gone signs in anew.
 */
export function interactionPolicyFor(catalogue: DirectoryCatalogue): interactionPolicy.DefaultPolicy {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy.get('login')!.checks.add(
    new Check('authnsource', 'the requested school directory differs from the session', (ctx) => {
      const requested = requestedAuthnSource(ctx.oidc.params?.acr_values);
      if (!requested || !catalogue.isKnown(requested) || !ctx.oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
      return ctx.oidc.session.acr === authnSourceAcr(requested) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  // findAccount found no snapshot for the session's user (it expired or was removed): without this
  // check oidc-provider goes on to the consent checks without an account or grant and fails with a
  // 500. The user's claims exist only from a directory login, so the answer is a new login.
  policy
    .get('login')!
    .checks.add(
      new Check('account_unavailable', "the session's user information is no longer available", 'login_required', (ctx) =>
        ctx.oidc.session?.accountId && !ctx.oidc.account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
      ),
    );
  return policy;
}
