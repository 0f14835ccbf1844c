import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import { ATTRIBUTE_TEST_CLIENT_ID } from '../attributetest/routes.js';
import type { Directory } from '../directories/connectors/index.js';
import { DirectoryError } from '../directories/errors.js';
import type { SchoolNames } from '../directories/school-names.js';
import { t } from '../http/i18n.js';
import { languageLinks, type LoginStart, localeOf } from '../http/pages.js';
import { metrics } from '../observability/metrics.js';
import { requestedAuthnSource } from '../provider/acr.js';
import type { BridgeConfig } from '../config/schema.js';
import type { DirectoryCatalogue } from '../directories/catalogue.js';
import type { DirectoryHandoff } from '../directories/handoff.js';
import { basePathOf } from '../http/base-path.js';
import { finishInteraction } from '../provider/finish-interaction.js';
import { chooserModel, LAST_CHOICE_COOKIE, rememberChoice } from './chooser.js';
import { directoryParam, interactionOf, type LoginContext, loginStart } from './context.js';
import { grantFor } from './grant.js';
import type { LoginOutcomes } from './outcomes.js';

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

/**
 * The first steps of a login: the service's request arrives (the chooser, the directory it names,
 * or single sign-on from the session), and the user's choice of directory sends them there.
 */
export function loginStarts(login: LoginContext, outcomes: LoginOutcomes) {
  const { provider, catalogue, accounts, pages, logger, handoff, base, secureCookie } = login;
  const { refusalFor, refuse, serviceGone, showFailure } = outcomes;

  /** The service's request arrives: the directory it names, the school chooser, or single sign-on. */
  async function begin(ctx: Context) {
    const details = await interactionOf(login, ctx);
    if (details.prompt.name === 'login') return chooseDirectory(ctx, details);
    const accountId = details.session?.accountId;
    if (details.prompt.name === 'consent' && accountId) return singleSignOn(ctx, details, accountId);
    throw new DirectoryError('directory_transaction_invalid', `unexpected prompt ${details.prompt.name}`);
  }

  async function chooseDirectory(ctx: Context, details: Interaction) {
    const { params } = details;
    const locale = localeOf(ctx, params.ui_locales, loginStart(details));
    const requested = requestedAuthnSource(params.acr_values);
    const direct = requested ? await catalogue.get(requested) : undefined;
    if (direct) return startDirectoryLogin(ctx, details.uid, params, direct, loginStart(details));
    const client = await provider.Client.find(String(params.client_id));
    const listings = await named(await catalogue.list(), login.schoolNames);
    pages.render(ctx, 'chooser', locale, {
      // The built-in test service's name is ours to translate; a service's own name is its own.
      clientName: client?.clientId === ATTRIBUTE_TEST_CLIENT_ID ? t(locale, 'attr.title') : client?.clientName,
      ...chooserModel({
        directories: listings.map((listing) => ({ listing, unavailable: login.isUnavailable?.(listing.id) ?? false })),
        locale,
        loginHref: (id) => `${base}/interaction/${details.uid}/login/${id}`,
        query: typeof ctx.query.q === 'string' ? ctx.query.q : undefined,
        lastChoice: ctx.cookies.get(LAST_CHOICE_COOKIE) ?? undefined,
      }),
      searchAction: `${base}/interaction/${details.uid}`,
      cancelHref: `${base}/interaction/${details.uid}/abort`,
      languageLinks: languageLinks(ctx),
    });
  }

  /** A user signed in here already, now at another service: the end of a login, without a directory. */
  async function singleSignOn(ctx: Context, details: Interaction, accountId: string) {
    const { params } = details;
    const locale = localeOf(ctx, params.ui_locales, loginStart(details));
    const service = String(params.client_id);
    const snapshot = await accounts.find(accountId);
    if (!snapshot) {
      // It expired since /auth checked it: the same authorization request again meets the login
      // check for it (account_unavailable in create-provider.ts), and the user signs in anew.
      ctx.redirect(authorizationRequestOf(params));
      return;
    }
    const refusal = await refusalFor(snapshot, service);
    if (refusal) return refuse(ctx, details.uid, locale, service, refusal);
    const grantId = await grantFor(login, accountId, service, String(params.scope ?? ''), details.grantId);
    if (!grantId) return serviceGone(ctx, locale, service);
    return finishInteraction(ctx, details, { consent: { grantId } });
  }

  async function chosen(ctx: Context) {
    const details = await interactionOf(login, ctx);
    const connector = directoryParam.safeParse(ctx.params.directoryId).success ? await catalogue.get(ctx.params.directoryId!) : undefined;
    if (!connector || details.prompt.name !== 'login') {
      pages.error(ctx, localeOf(ctx, details.params.ui_locales, loginStart(details)), { status: 404, messageKey: 'error.unknown_directory' });
      return;
    }
    rememberChoice(ctx, connector.id, { path: base || '/', secure: secureCookie });
    await startDirectoryLogin(ctx, details.uid, details.params, connector, loginStart(details));
  }

  async function startDirectoryLogin(
    ctx: Context,
    interactionUid: string,
    params: Record<string, unknown>,
    directory: Directory,
    since: LoginStart | undefined,
  ) {
    const service = String(params.client_id);
    try {
      await handoff.redirect(ctx, directory, { interactionUid, clientId: service }, directoryLoginOptions(ctx, params, since));
      metrics.loginsStarted.inc({ directory: directory.id, service });
    } catch (err) {
      if (!(err instanceof DirectoryError)) throw err;
      logger.warn({ directoryId: directory.id, reason: err.code, err }, 'directory login could not start');
      metrics.loginsFailed.inc({ directory: directory.id, service, reason: err.code });
      await showFailure(ctx, interactionUid, localeOf(ctx, params.ui_locales, since), { ok: false, directoryId: directory.id, code: err.code });
    }
  }

  /** The service's authorization request again (the parameters oidc-provider kept with the interaction). */
  function authorizationRequestOf(params: Record<string, unknown>): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (typeof value === 'string' || typeof value === 'number') query.set(name, String(value));
    }
    return `${base}/auth?${query}`;
  }

  return { begin, chosen };
}

/** What the directory is asked for: a new sign-in (prompt=login, max_age) and the page language. */
function directoryLoginOptions(ctx: Context, params: Record<string, unknown>, since: LoginStart | undefined) {
  const prompt = typeof params.prompt === 'string' ? params.prompt.split(' ') : [];
  const maxAge =
    typeof params.max_age === 'number'
      ? params.max_age
      : Number.isInteger(Number(params.max_age)) && params.max_age !== undefined
        ? Number(params.max_age)
        : undefined;
  return { forceLogin: prompt.includes('login'), ...(maxAge !== undefined ? { maxAge } : {}), uiLocales: localeOf(ctx, params.ui_locales, since) };
}

/**
 * A service that names the school directory (acr_values) needs no page of ours: /auth sends the
 * browser straight on to the directory, one redirect less. The browser gets the same cookies as from
 * the interaction's page: the transaction's (the same-browser check at the callback), the resume
 * route's (oidc-provider's), and the interaction's. oidc-provider scopes that one to where it sends
 * the browser first (here the directory's path); the failure pages under /interaction/<uid> need it
 * there, so it is set for that path too. When the directory cannot begin, the interaction's page
 * tries again and shows why.
 */
export function straightToDirectory(deps: { catalogue: DirectoryCatalogue; handoff: DirectoryHandoff; config: BridgeConfig; interactionCookie: string }) {
  const base = basePathOf(deps.config.issuer);
  const secure = deps.config.issuer.startsWith('https://');
  return async (ctx: Context, interaction: Interaction): Promise<string | undefined> => {
    if (interaction.prompt.name !== 'login') return undefined;
    const requested = requestedAuthnSource(interaction.params.acr_values);
    const directory = requested ? await deps.catalogue.get(requested) : undefined;
    if (!directory) return undefined;
    const service = String(interaction.params.client_id);
    let destination: string;
    try {
      const options = directoryLoginOptions(ctx, interaction.params, loginStart(interaction));
      destination = await deps.handoff.begin(ctx, directory, { interactionUid: interaction.uid, clientId: service }, options);
    } catch (err) {
      if (err instanceof DirectoryError) return undefined;
      throw err;
    }
    const path = `${base}/interaction/${interaction.uid}`;
    const maxAge = Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)) * 1000;
    ctx.cookies.set(deps.interactionCookie, interaction.uid, { path, httpOnly: true, sameSite: 'lax', secure, signed: true, maxAge });
    metrics.loginsStarted.inc({ directory: directory.id, service });
    return destination;
  };
}
