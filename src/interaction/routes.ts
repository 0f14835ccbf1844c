import Router from '@koa/router';
import { directoryCallbacks } from './callback.js';
import { type InteractionDependencies, loginContext } from './context.js';
import { loginFinish } from './finish.js';
import { loginOutcomes } from './outcomes.js';
import { loginStarts } from './start.js';

export type { InteractionDependencies } from './context.js';

/**
 * The routes of a login, in the order a login runs. oidc-provider sends the browser to the first;
 * the callback hands a login back to it, the abort route an OIDC error (both with finishInteraction).
 */
export function createInteractionRouter(deps: InteractionDependencies): Router {
  const login = loginContext(deps);
  const outcomes = loginOutcomes(login);
  const start = loginStarts(login, outcomes);
  const finish = loginFinish(login, outcomes);
  const callbacks = directoryCallbacks(login, outcomes, finish);

  const router = new Router();
  // 1. The service's request: the school chooser, the directory it names, or single sign-on.
  router.get('/interaction/:uid', start.begin);
  // 2. The user's choice: off to that school directory.
  router.get('/interaction/:uid/login/:directoryId', start.chosen);
  // 3. The directory's answer: a redirect, or a form post (SAML); a login the service may have is
  //    handed back to the provider from here. The path keeps its historic name.
  router.get('/upstream/:directoryId/callback', callbacks.receive);
  router.post('/upstream/:directoryId/callback', callbacks.receive);
  // 4. A login that ended without a user: the page that says why, with the interaction cookie.
  router.get('/interaction/:uid/complete', finish.failed);
  // 5. A failure page's button: the service receives the matching OIDC error.
  router.get('/interaction/:uid/abort', outcomes.abort);
  return router;
}
