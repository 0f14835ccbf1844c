/**
 * A minimal browser for protocol tests: keeps cookies per host name (as browsers do: not per port), follows redirects one hop at a time
 * (so a test can stop at a service's redirect URI), submits forms. Real HTTP over loopback.
 */
export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

interface StoredCookie {
  value: string;
  path: string;
}

export class UserAgent {
  private readonly jar = new Map<string, Map<string, StoredCookie>>();
  /** Every page (non-redirect response) and redirect seen, for header assertions. */
  readonly history: Page[] = [];

  constructor(private readonly acceptLanguage = 'fi') {}

  private cookieHeader(url: URL): string {
    const cookies = this.jar.get(url.hostname);
    if (!cookies) return '';
    return [...cookies.entries()]
      .filter(([, c]) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private storeCookies(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((p) => p.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const pathAttr = attributes.find((a) => a.toLowerCase().startsWith('path='));
      const expired = attributes.some((a) => /^expires=Thu, 01 Jan 1970/i.test(a)) || attributes.some((a) => /^max-age=0$/i.test(a));
      const cookies = this.jar.get(url.hostname) ?? new Map<string, StoredCookie>();
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, { value, path: pathAttr ? pathAttr.slice(5) : '/' });
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
   * Follows redirects from `url` until a page that is not a redirect, or until a Location starting with
   * `stopAt` (a service's redirect URI, which nobody serves in these tests) is reached.
   */
  async navigate(url: string, options: { stopAt?: string; form?: Record<string, string>; maxHops?: number } = {}): Promise<Page> {
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

  /** Submits the first form on the page with these fields (hidden inputs kept), following redirects. */
  async submit(page: Page, fields: Record<string, string>, options: { stopAt?: string } = {}): Promise<Page> {
    const form = parseForm(page);
    return this.navigate(form.action, { ...options, form: { ...form.fields, ...fields } });
  }
}

export function parseForm(page: Page): { action: string; fields: Record<string, string> } {
  const formTag = /<form[^>]*action="([^"]*)"[^>]*>/i.exec(page.body);
  if (!formTag) throw new Error(`no form on ${page.url}`);
  const action = new URL(decodeEntities(formTag[1]!), page.url).href;
  const fields: Record<string, string> = {};
  for (const match of page.body.matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(match[0])?.[1];
    const value = /value="([^"]*)"/.exec(match[0])?.[1] ?? '';
    if (name) fields[name] = decodeEntities(value);
  }
  return { action, fields };
}

function decodeEntities(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=');
}

/** All links of a page whose text contains `text`. */
export function linksWithText(page: Page, text: string): string[] {
  return [...page.body.matchAll(/<a[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi)]
    .filter((m) => m[2]!.includes(text))
    .map((m) => new URL(decodeEntities(m[1]!), page.url).href);
}
