/**
 * A minimal browser for protocol tests: keeps cookies per host name (as browsers do: not per port),
 * follows redirects one hop at a time (so a test can stop at a service's redirect URI, which nobody
 * serves), submits forms. Real HTTP over loopback with the platform fetch.
 */
export interface Page {
  url: string;
  /** The HTTP status; 0 for a redirect target the agent was told not to follow (see `stopAt`). */
  status: number;
  headers: Headers;
  body: string;
}

export interface FollowOptions {
  /** Stop, without requesting it, at the first redirect whose target starts with this prefix. */
  stopAt?: string;
  /** Redirects followed at most (default 20). */
  maxHops?: number;
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** A browser keeps one cookie per name and path (RFC 6265 5.3): the same name on two paths is two cookies. */
const cookieKey = (name: string, path: string): string => `${name}\0${path}`;

export class UserAgent {
  private readonly jar = new Map<string, Map<string, StoredCookie>>();
  /** Every response seen (pages and redirects), in order, for header assertions. */
  readonly history: Page[] = [];

  constructor(private readonly acceptLanguage = 'fi') {}

  /** The cookies sent to `url`, the longest path first, as a browser orders them. */
  private cookiesTo(url: string): StoredCookie[] {
    const target = new URL(url);
    return [...(this.jar.get(target.hostname)?.values() ?? [])]
      .filter((c) => pathMatches(target.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** The cookies this agent would send to `url`, by name (the most specific of a name; for assertions). */
  cookiesFor(url: string): Record<string, string> {
    const byName: Record<string, string> = {};
    for (const c of this.cookiesTo(url)) byName[c.name] ??= c.value;
    return byName;
  }

  /** Puts a cookie in the jar as a response would (for playing a browser that copies or alters one). */
  setCookie(url: string, name: string, value: string, path = '/'): void {
    const host = new URL(url).hostname;
    const cookies = this.jar.get(host) ?? new Map<string, StoredCookie>();
    cookies.set(cookieKey(name, path), { name, value, path });
    this.jar.set(host, cookies);
  }

  private cookieHeader(url: URL): string {
    return this.cookiesTo(url.href)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private storeCookies(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const pathAttr = attributes.find((a) => a.toLowerCase().startsWith('path='));
      const path = pathAttr ? pathAttr.slice(5) || '/' : '/';
      const expired = attributes.some((a) => /^expires=Thu, 01 Jan 1970/i.test(a)) || attributes.some((a) => /^max-age=(0|-\d+)$/i.test(a));
      const cookies = this.jar.get(url.hostname) ?? new Map<string, StoredCookie>();
      if (expired || value === '') cookies.delete(cookieKey(name, path));
      else cookies.set(cookieKey(name, path), { name, value, path });
      this.jar.set(url.hostname, cookies);
    }
  }

  /** One request, no redirect following. */
  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = { 'accept-language': this.acceptLanguage, accept: 'text/html,*/*' };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(target, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.storeCookies(target, response.headers);
    const page: Page = { url: target.href, status: response.status, headers: response.headers, body: await response.text() };
    this.history.push(page);
    return page;
  }

  /**
   * Requests `url` (a POST when `form` is given) and follows redirects until a page that is not a
   * redirect, or until a Location starting with `stopAt` is reached: then the returned page has that
   * URL and status 0.
   */
  async navigate(url: string, options: FollowOptions & { form?: Record<string, string> } = {}): Promise<Page> {
    let page = await this.request(url, options.form ? { form: options.form } : {});
    for (let hop = 0; hop < (options.maxHops ?? 20); hop += 1) {
      const location = page.headers.get('location');
      if (page.status < 300 || page.status >= 400 || !location) return page;
      const next = new URL(location, page.url).href;
      if (options.stopAt && next.startsWith(options.stopAt)) {
        return { url: next, status: 0, headers: new Headers(), body: '' };
      }
      page = await this.request(next);
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** GET, following redirects (see `navigate`). */
  get(url: string, options: FollowOptions = {}): Promise<Page> {
    return this.navigate(url, options);
  }

  /** POSTs an urlencoded form, following the redirects that answer it (see `navigate`). */
  postForm(url: string, fields: Record<string, string>, options: FollowOptions = {}): Promise<Page> {
    return this.navigate(url, { ...options, form: fields });
  }

  /** Submits the first form on the page with these fields (hidden inputs kept), following redirects. */
  async submit(page: Page, fields: Record<string, string>, options: FollowOptions = {}): Promise<Page> {
    const form = parseForm(page);
    return this.postForm(form.action, { ...form.fields, ...fields }, options);
  }
}

export interface HtmlForm {
  /** Absolute URL the form submits to (the page's own URL when the form has no action). */
  action: string;
  method: string;
  /** What a browser would send without user input: named inputs (checked ones only for checkboxes and radios), textareas, selects. */
  fields: Record<string, string>;
  /** Only the hidden inputs. */
  hidden: Record<string, string>;
  /** Submit buttons (`<button>` and `<input type=submit>`), with their visible text. */
  buttons: Array<{ name?: string; value: string; text: string }>;
}

/** Every form on the page, in document order. */
export function extractForms(page: Pick<Page, 'url' | 'body'>): HtmlForm[] {
  return scanForms(page).map((f) => f.form);
}

function scanForms(page: Pick<Page, 'url' | 'body'>): Array<{ form: HtmlForm; explicitAction: boolean }> {
  return [...page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, tagAttributes = '', inner = '']) => {
    const attrs = attributes(tagAttributes);
    const fields: Record<string, string> = {};
    const hidden: Record<string, string> = {};
    const buttons: HtmlForm['buttons'] = [];
    for (const [, inputAttributes = ''] of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const input = attributes(inputAttributes);
      const type = (input.type ?? 'text').toLowerCase();
      const value = input.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '');
      if (type === 'submit') {
        buttons.push({ ...(input.name !== undefined ? { name: input.name } : {}), value, text: value });
        continue;
      }
      if (input.name === undefined || ['button', 'reset', 'image', 'file'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && input.checked === undefined) continue;
      if (type === 'hidden') hidden[input.name] = value;
      fields[input.name] = value;
    }
    for (const [, textareaAttributes = '', text = ''] of inner.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
      const name = attributes(textareaAttributes).name;
      if (name !== undefined) fields[name] = decodeEntities(text);
    }
    for (const [, selectAttributes = '', options = ''] of inner.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/gi)) {
      const name = attributes(selectAttributes).name;
      const all = [...options.matchAll(/<option\b([^>]*)>([\s\S]*?)(?=<option\b|$)/gi)].map(([, a = '', text = '']) => ({ attrs: attributes(a), text }));
      const chosen = all.find((o) => o.attrs.selected !== undefined) ?? all[0];
      if (name !== undefined && chosen) fields[name] = chosen.attrs.value ?? textOf(chosen.text);
    }
    for (const [, buttonAttributes = '', text = ''] of inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
      const button = attributes(buttonAttributes);
      if ((button.type ?? 'submit').toLowerCase() !== 'submit') continue;
      buttons.push({ ...(button.name !== undefined ? { name: button.name } : {}), value: button.value ?? '', text: textOf(text) });
    }
    const form: HtmlForm = {
      action: new URL(attrs.action ?? '', page.url).href,
      method: (attrs.method ?? 'get').toLowerCase(),
      fields,
      hidden,
      buttons,
    };
    return { form, explicitAction: attrs.action !== undefined };
  });
}

/** One form: the first, the n-th, or the first whose action contains the given text. */
export function extractForm(page: Pick<Page, 'url' | 'body'>, which: number | string = 0): HtmlForm {
  const forms = extractForms(page);
  const form = typeof which === 'number' ? forms[which] : forms.find((f) => f.action.includes(which));
  if (!form) throw new Error(`no form ${JSON.stringify(which)} on ${page.url}`);
  return form;
}

/** The first form with an explicit action, and its hidden inputs: what `submit` posts. */
export function parseForm(page: Page): { action: string; fields: Record<string, string> } {
  const withAction = scanForms(page).find((f) => f.explicitAction)?.form;
  if (!withAction) throw new Error(`no form on ${page.url}`);
  return { action: withAction.action, fields: withAction.hidden };
}

/** All links of a page whose text contains `text`. */
export function linksWithText(page: Page, text: string): string[] {
  return [...page.body.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)]
    .filter(([, , inner = '']) => inner.includes(text) || textOf(inner).includes(text))
    .map(([, a = '']) => attributes(a).href)
    .filter((href): href is string => href !== undefined)
    .map((href) => new URL(href, page.url).href);
}

/** The visible text of an HTML fragment: tags dropped, entities decoded, white space collapsed. */
export function textOf(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

/** RFC 6265 path matching: the same path, or below it. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (cookiePath === '/' || requestPath === cookiePath) return true;
  return requestPath.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`);
}

/** Attributes of a start tag (double-, single- or un-quoted; a bare attribute has the value ''). */
function attributes(tagBody: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, name = '', dq, sq, bare] of tagBody.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const key = name.toLowerCase();
    if (!(key in out)) out[key] = decodeEntities(dq ?? sq ?? bare ?? '');
  }
  return out;
}

const NAMED: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: '\u00a0' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return NAMED[entity.toLowerCase()] ?? whole;
  });
}
