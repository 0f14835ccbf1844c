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
export function renderPage(ctx: Context, views: Views, template: string, locale: Locale, data: Record<string, unknown>, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = views.render(template, { ...data, locale, t: (key: MessageKey) => t(locale, key) });
}

/**
 * The pages' own stylesheet and script, read once at start-up and served under /static: pages need
 * no inline style or script (CSP).
 */
export function staticAssets(dir = VIEWS_DIR): Array<{ name: string; type: string; body: string }> {
  return [
    { name: 'bridge.css', type: 'text/css' },
    { name: 'chooser.js', type: 'text/javascript' },
  ].map((asset) => ({ ...asset, body: readFileSync(resolve(dir, 'static', asset.name), 'utf8') }));
}
