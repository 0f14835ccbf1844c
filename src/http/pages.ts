import type { Context } from 'koa';
import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';
import { acceptedLocale, firstLocale, LOCALES, t, tn, type Locale, type MessageKey, type PluralKey } from './i18n.js';
import { renderPage, type Views } from './views.js';
import type { Logger } from '../observability/logger.js';
import { requestIdOf } from '../observability/request-context.js';

/** Each language named in itself, so a person finds their own whatever the page's language is. */
const LANGUAGE_LABELS: Record<Locale, string> = { fi: 'Suomeksi', sv: 'På svenska', en: 'In English' };

/**
 * The language a person picked with the language links: `<locale>.<epoch seconds>[.<interaction>]`.
 * The interaction a choice was made in, or a time after a login began, lets that choice outrank the
 * login's ui_locales, while a choice from an earlier login does not outrank what a service asks for
 * now (even within the same second). A preference of the device, nothing about the user.
 */
const LANGUAGE_COOKIE = 'mpass_lang';
const LANGUAGE_COOKIE_DAYS = 365;

interface LanguageChoice {
  locale: Locale;
  at: number;
  /** The interaction whose page the choice was made on. */
  uid?: string | undefined;
}

/** The login a page belongs to: when the service asked (epoch seconds), and its interaction. */
export interface LoginStart {
  at: number;
  uid: string;
}

function languageChoice(ctx: Context): LanguageChoice | undefined {
  const match = /^(fi|sv|en)\.(\d{1,12})(?:\.([A-Za-z0-9_-]{1,64}))?$/.exec(ctx.cookies.get(LANGUAGE_COOKIE) ?? '');
  return match ? { locale: match[1] as Locale, at: Number(match[2]), uid: match[3] } : undefined;
}

/** The interaction of a page of a login (`/interaction/<uid>...`), if the page is one. */
const interactionOfPath = (path: string): string | undefined => /\/interaction\/([A-Za-z0-9_-]{10,64})(?:\/|$)/.exec(path)?.[1];

/** The language picked on this very request (a language link), if any. */
function linkChoice(ctx: Context): Locale | undefined {
  return typeof ctx.query.lang === 'string' ? firstLocale(ctx.query.lang) : undefined;
}

/**
 * The page language of a request, so that a language holds for the whole login:
 * 1. a language link just followed (`?lang=`),
 * 2. the person's choice made during this login (on one of its pages, or after the service asked),
 * 3. the service's `ui_locales`,
 * 4. the person's earlier choice on this device,
 * 5. the browser's Accept-Language (with q-values), then Finnish.
 */
export function localeOf(ctx: Context, uiLocales?: unknown, login?: LoginStart): Locale {
  const linked = linkChoice(ctx);
  if (linked) return linked;
  const chosen = languageChoice(ctx);
  if (chosen && login && (chosen.uid === login.uid || chosen.at > login.at)) return chosen.locale;
  const requested = firstLocale(typeof uiLocales === 'string' ? uiLocales : typeof ctx.query.ui_locales === 'string' ? ctx.query.ui_locales : undefined);
  return requested ?? chosen?.locale ?? acceptedLocale(ctx.get('accept-language')) ?? 'fi';
}

/** Remembers a language link the person followed (see LANGUAGE_COOKIE). */
function rememberLanguage(ctx: Context, path: string): void {
  const linked = linkChoice(ctx);
  if (!linked) return;
  const uid = interactionOfPath(ctx.path);
  ctx.cookies.set(LANGUAGE_COOKIE, `${linked}.${Math.floor(Date.now() / 1000)}${uid ? `.${uid}` : ''}`, {
    path,
    httpOnly: true,
    sameSite: 'lax',
    secure: ctx.secure,
    maxAge: LANGUAGE_COOKIE_DAYS * 24 * 3600 * 1000,
    overwrite: true,
  });
}

/** The same page in each language. A page shown after a form post links to its address as a GET. */
export function languageLinks(ctx: Context): Array<{ locale: Locale; href: string; label: string }> {
  return LOCALES.map((locale) => {
    const params = new URLSearchParams(ctx.method === 'GET' ? ctx.querystring : '');
    params.set('lang', locale);
    return { locale, href: `${ctx.mountPath ?? ''}${ctx.path}?${params.toString()}`, label: LANGUAGE_LABELS[locale] };
  });
}

export interface ErrorPageOptions {
  status: number;
  messageKey: MessageKey;
  /** The heading; by default one that fits the message (see titleFor). */
  titleKey?: MessageKey;
  showBack?: boolean;
  reference?: string | undefined;
  /** Extra template data (e.g. a link that hands the error to the service). */
  extra?: Record<string, unknown>;
}

/** A heading that says what happened: a missing page or an outage is not a failed sign-in. */
function titleFor(messageKey: MessageKey): MessageKey {
  switch (messageKey) {
    case 'error.not_found':
      return 'error.title.notFound';
    case 'error.store_unavailable':
      return 'error.title.unavailable';
    case 'error.server':
      return 'error.title.server';
    case 'error.bad_request':
      return 'error.title.request';
    case 'error.directory_denied':
      return 'error.title.cancelled';
    case 'check.invalidLink':
    case 'check.notCheckable':
      return 'error.title.checkLink';
    default:
      return 'error.title';
  }
}

/** Every HTML page the bridge itself renders, in fi/sv/en. Messages are fixed texts, never raw input. */
export class PageRenderer {
  constructor(
    private readonly views: Views,
    private readonly logger: Logger,
    /** The issuer's path: links and the stylesheet are under it. */
    private readonly base = '',
  ) {}

  /** Every page offers the language links, and a link followed is remembered for the rest of the login. */
  render(ctx: Context, template: string, locale: Locale, data: Record<string, unknown>, status = 200): void {
    rememberLanguage(ctx, this.base || '/');
    renderPage(
      ctx,
      this.views,
      template,
      locale,
      { base: this.base, languageLinks: languageLinks(ctx), tn: (key: PluralKey, count: number) => tn(locale, key, count), ...data },
      status,
    );
  }

  error(ctx: Context, locale: Locale, options: ErrorPageOptions): void {
    this.render(
      ctx,
      'error',
      locale,
      {
        title: t(locale, options.titleKey ?? titleFor(options.messageKey)),
        message: t(locale, options.messageKey),
        showBack: options.showBack ?? true,
        // Every error page names its request, so a report from the user leads to the log lines.
        reference: options.reference ?? requestIdOf(ctx),
        ...options.extra,
      },
      options.status,
    );
  }

  /** oidc-provider's errors that cannot be sent back to the service (unknown client, bad redirect_uri). */
  oidcError(ctx: KoaContextWithOIDC, out: ErrorOut, error: Error): void {
    const locale = localeOf(ctx, ctx.oidc?.params?.ui_locales);
    const status = Math.max(ctx.status, 400);
    const reference = requestIdOf(ctx);
    this.logger.info({ ref: reference, error: out.error, status, route: ctx.oidc?.route }, 'oidc error page');
    // At the resume route (/auth/<uid>) a login that expired, is unknown or began in another browser
    // is the user's to restart, not a fault of the service's request.
    const expired = error.name === 'SessionNotFound';
    const messageKey: MessageKey =
      status >= 500 ? (status === 503 ? 'error.store_unavailable' : 'error.server') : expired ? 'error.session_expired' : 'error.oidc';
    this.error(ctx, locale, { status, messageKey, reference, extra: { detail: error.name } });
  }

  logout(ctx: KoaContextWithOIDC, form: string): void {
    this.render(ctx, 'logout', localeOf(ctx, ctx.oidc?.params?.ui_locales), { form, done: false });
  }

  logoutDone(ctx: KoaContextWithOIDC): void {
    this.render(ctx, 'logout', localeOf(ctx), { done: true });
  }
}
