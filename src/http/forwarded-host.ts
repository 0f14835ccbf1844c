import type { Middleware } from 'koa';

/**
 * Koa's `ctx.host` (and so `ctx.href`, from which oidc-provider builds its URLs, and the choice of
 * environment in deployment.ts) takes X-Forwarded-Host whenever `app.proxy` is on. `trustProxy` is
 * meant for the scheme and client address only: a proxy that passes a client's X-Forwarded-Host
 * through unchanged would let anyone pick the environment, or the host in discovery. So unless the
 * operator has said the proxy sets it (`trustForwardedHost`), the header is dropped before anything
 * reads it, and the Host header decides.
 */
export function forwardedHost(trusted: boolean): Middleware {
  return (ctx, next) => {
    if (!trusted) delete ctx.req.headers['x-forwarded-host'];
    return next();
  };
}

/**
 * A host as DNS and URLs see it: lower case, without the trailing dot of a fully qualified name and
 * without the default port of `protocol`. Undefined when it is not a host at all.
 */
export function canonicalHost(host: string, protocol: string): string | undefined {
  if (!host) return undefined;
  try {
    const url = new URL(`${protocol}//${host}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    const hostname = url.hostname.replace(/\.$/, '');
    return url.port ? `${hostname}:${url.port}` : hostname;
  } catch {
    return undefined;
  }
}

/** Whether a request's host (from Host, or a trusted X-Forwarded-Host) names the issuer's host. */
export function isIssuerHost(requestHost: string, issuer: URL): boolean {
  return canonicalHost(requestHost, issuer.protocol) === canonicalHost(issuer.host, issuer.protocol);
}
