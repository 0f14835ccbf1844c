import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** MPASSid names an authentication source (a school directory) with this acr prefix. */
const AUTHN_SOURCE_PREFIX = 'urn:mpass.id:authnsource:';

export function authnSourceAcr(directoryId: string): string {
  return `${AUTHN_SOURCE_PREFIX}${directoryId}`;
}

/** The directory a service asked for with acr_values, if any (the first one named). */
export function requestedAuthnSource(acrValues: unknown): string | undefined {
  if (typeof acrValues !== 'string') return undefined;
  for (const value of acrValues.split(' ')) {
    if (value.startsWith(AUTHN_SOURCE_PREFIX) && value.length > AUTHN_SOURCE_PREFIX.length) {
      return value.slice(AUTHN_SOURCE_PREFIX.length);
    }
  }
  return undefined;
}

/**
 * Discovery's `acr_values_supported` names the directories users of this environment may use now,
 * operator-managed ones included (the provider's own list is fixed at start-up). Runs around the
 * provider and acts on its discovery route, whatever path reached it.
 */
export function directoryAcrValues(directoryIds: () => Promise<string[]>): Middleware {
  return async (ctx, next) => {
    await next();
    const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
    if (oidc?.route !== 'discovery' || ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;
    (ctx.body as Record<string, unknown>).acr_values_supported = (await directoryIds()).map(authnSourceAcr);
  };
}
