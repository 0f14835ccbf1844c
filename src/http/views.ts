import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Context } from 'koa';
import { t, type Locale, type MessageKey } from './i18n.js';

export const VIEWS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../views');

export interface Views {
  render(template: string, data: Record<string, unknown>): string;
}

export function createViews(dir = VIEWS_DIR): Views {
  // autoEscape: every <%= %> is HTML-escaped; raw output needs the explicit <%~ %>.
  const eta = new Eta({ views: dir, autoEscape: true, cache: true });
  return { render: (template, data) => eta.render(template, data) };
}

/** Renders a page in a locale, with the translation helper available as `it.t`. */
export function renderPage(
  ctx: Context,
  views: Views,
  template: string,
  locale: Locale,
  data: Record<string, unknown>,
  status = 200,
): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = views.render(template, { ...data, locale, t: (key: MessageKey) => t(locale, key) });
}

/** The stylesheet is read once at start-up; pages reference it so no inline style is needed (CSP). */
export function stylesheet(dir = VIEWS_DIR): string {
  return readFileSync(resolve(dir, 'static/bridge.css'), 'utf8');
}
