import type { Context } from 'koa';
import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';
import { LOCALES, pickLocale, t, type Locale, type MessageKey } from '../http/i18n.js';
import { renderPage, type Views } from '../http/views.js';
import type { Logger } from '../observability/logger.js';
import { requestIdOf } from '../observability/request-context.js';

const LANGUAGE_LABELS: Record<Locale, string> = { fi: 'Suomeksi', sv: 'På svenska', en: 'In English' };

/** The page language of a request: ui_locales of the OIDC request, then ?lang, then the browser. */
export function localeOf(ctx: Context, uiLocales?: unknown): Locale {
  const explicit = typeof ctx.query.lang === 'string'
    ? ctx.query.lang
    : typeof uiLocales === 'string'
      ? uiLocales
      : typeof ctx.query.ui_locales === 'string'
        ? ctx.query.ui_locales
        : undefined;
  return pickLocale(explicit, ctx.get('accept-language'));
}

export function languageLinks(ctx: Context): Array<{ locale: Locale; href: string; label: string }> {
  return LOCALES.map((locale) => {
    const params = new URLSearchParams(ctx.querystring);
    params.set('lang', locale);
    return { locale, href: `${ctx.mountPath ?? ''}${ctx.path}?${params.toString()}`, label: LANGUAGE_LABELS[locale] };
  });
}

export interface ErrorPageOptions {
  status: number;
  messageKey: MessageKey;
  showBack?: boolean;
  reference?: string;
  /** Extra template data (e.g. a link that hands the error to the service). */
  extra?: Record<string, unknown>;
}

/** Every HTML page the bridge itself renders, in fi/sv/en. Messages are fixed texts, never raw input. */
export class PageRenderer {
  constructor(
    private readonly views: Views,
    private readonly logger: Logger,
    /** The issuer's path: links and the stylesheet are under it. */
    private readonly base = '',
  ) {}

  render(ctx: Context, template: string, locale: Locale, data: Record<string, unknown>, status = 200): void {
    renderPage(ctx, this.views, template, locale, { base: this.base, ...data }, status);
  }

  error(ctx: Context, locale: Locale, options: ErrorPageOptions): void {
    this.render(
      ctx,
      'error',
      locale,
      {
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
    const status = ctx.status >= 400 ? ctx.status : 400;
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
