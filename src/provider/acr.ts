/** MPASSid names an authentication source (a school directory) with this acr prefix. */
const AUTHN_SOURCE_PREFIX = 'urn:mpass.id:authnsource:';

export function authnSourceAcr(upstreamId: string): string {
  return `${AUTHN_SOURCE_PREFIX}${upstreamId}`;
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
