/**
 * An issuer may live under a path (https://host/test): every URL and cookie path the bridge makes is
 * then under it. These two helpers are the only place that knows how.
 */
export function basePathOf(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, '');
}

/** An absolute URL under the issuer: `underIssuer('https://h/test', '/x')` is `https://h/test/x`. */
export function underIssuer(issuer: string, path: string): string {
  return `${issuer.replace(/\/+$/, '')}${path}`;
}
