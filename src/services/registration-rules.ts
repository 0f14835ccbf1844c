import { errors } from 'oidc-provider';
import type { Environment } from '../config/common.js';

/**
 * The rules a dynamically registered (RFC 7591) or updated (RFC 7592) service's metadata must meet.
 * They run as oidc-provider registration policies, so every rejection is a proper RFC 7591 error
 * (`invalid_redirect_uri` / `invalid_client_metadata`) with a readable description.
 */

/** Keys only operators set (through the admin API); a service sending them is refused. */
const OPERATOR_ONLY_KEYS = ['allowTestLearnerIds', 'releasedClaims', 'refreshTokens', 'status', 'publishedToDemo', 'suspended'];

/** Service-description metadata accepted beyond the standard fields. */
export const EXTRA_CLIENT_METADATA = ['service_description'];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const URI_METADATA = ['logo_uri', 'policy_uri', 'tos_uri', 'client_uri'] as const;
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];
/** Reverse-domain private-use scheme (RFC 8252 §7.1), e.g. `fi.example.app`. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/;

export interface RegistrationContext {
  /** The strictest environment the service may be used in (see strictestEnvironment). */
  environment: Environment;
  /** Whether operators allow refresh tokens for this service (always false at registration). */
  refreshTokensAllowed: boolean;
  /** Whether operators granted `subject_type: public` (always false at registration). */
  publicSubjectAllowed?: boolean;
  /** A non-production setting for tests: http loopback back-channel logout URIs in the test environment. */
  allowLoopbackBackchannel?: boolean;
}

const metadataError = (description: string) => new errors.InvalidClientMetadata(description);
// oidc-provider answers invalid_redirect_uri for descriptions that start with `redirect_uris`.
const redirectError = (description: string) => new errors.InvalidClientMetadata(`redirect_uris: ${description}`);

/** Characters that make a URI read differently to a person than to a parser (\\ is a / to WHATWG URL). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const MISLEADING = /[\\\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

function checkRedirectUri(raw: unknown, native: boolean, environment: Environment): URL {
  if (typeof raw !== 'string' || raw === '') throw redirectError('every redirect URI must be a non-empty string');
  if (raw.includes('#')) throw redirectError(`redirect URI ${raw} must not contain a fragment`);
  if (raw.includes('*')) throw redirectError(`redirect URI ${raw} must not contain a wildcard (*): redirect URIs are matched exactly`);
  if (MISLEADING.test(raw)) throw redirectError(`redirect URI ${JSON.stringify(raw)} must not contain backslashes, spaces or control characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw redirectError(`redirect URI ${raw} is not an absolute URI`);
  }
  if (url.username || url.password) throw redirectError(`redirect URI ${raw} must not contain a user name or password`);
  // What the service shows must be what a browser will use: the URI in its canonical form.
  if (url.href !== raw) throw redirectError(`redirect URI ${raw} must be written in its canonical form (${url.href})`);
  const scheme = url.protocol.slice(0, -1);
  const loopback = scheme === 'http' && LOOPBACK_HOSTS.has(url.hostname);
  if (native) {
    if (loopback) return url;
    if (PRIVATE_USE_SCHEME.test(scheme)) return url;
    throw redirectError(
      `redirect URI ${raw} of a native app must use a private-use scheme in reverse-domain form (e.g. fi.example.app:/callback) or http loopback (http://127.0.0.1:<port>/...)`,
    );
  }
  if (scheme === 'https') return url;
  if (loopback && environment === 'test') return url;
  throw redirectError(
    environment === 'test'
      ? `redirect URI ${raw} must use https (http is accepted only for loopback addresses)`
      : `redirect URI ${raw} must use https in the ${environment} environment`,
  );
}

/**
 * The bridge posts logout tokens to this URI; oidc-provider refuses (and so never delivers to)
 * special-use addresses. Refused here with a reason rather than failing silently at logout.
 */
function checkBackchannelUri(raw: unknown, context: RegistrationContext): void {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw metadataError('backchannel_logout_uri must be an absolute https URL');
  }
  if (typeof raw !== 'string' || url.href !== raw || url.hash || url.username || url.password) {
    throw metadataError('backchannel_logout_uri must be an absolute https URL in canonical form, without a fragment or credentials');
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (loopback && context.allowLoopbackBackchannel && context.environment === 'test') return;
  if (url.protocol !== 'https:') throw metadataError(`backchannel_logout_uri must use https in the ${context.environment} environment`);
  if (loopback || isIpLiteral(url.hostname)) {
    throw metadataError('backchannel_logout_uri must name a public host: logout tokens are not sent to IP addresses or loopback');
  }
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname);
}

/** Checks, and completes with defaults, the metadata of a registration or an RFC 7592 update. */
export function enforceRegistrationPolicy(properties: Record<string, unknown>, context: RegistrationContext): void {
  const operatorField = Object.keys(properties).find((key) => key.startsWith('mpassid_') || OPERATOR_ONLY_KEYS.includes(key));
  if (operatorField) throw metadataError(`${operatorField} is set by the MPASSid operators, not by the service`);

  if (typeof properties.client_name !== 'string' || properties.client_name.trim() === '') {
    throw metadataError('client_name is required: the name of the service shown to users and operators');
  }
  const applicationType = properties.application_type ?? 'web';
  if (applicationType !== 'web' && applicationType !== 'native') throw metadataError('application_type must be web or native');
  const native = applicationType === 'native';

  if (!Array.isArray(properties.redirect_uris) || properties.redirect_uris.length === 0) {
    throw redirectError('at least one exact redirect URI is required');
  }
  const redirects = properties.redirect_uris.map((uri) => checkRedirectUri(uri, native, context.environment));
  if (Array.isArray(properties.post_logout_redirect_uris)) {
    for (const uri of properties.post_logout_redirect_uris) {
      try {
        checkRedirectUri(uri, native, context.environment);
      } catch (err) {
        const description = (err as { error_description?: string }).error_description ?? 'invalid';
        throw metadataError(`post_logout_redirect_uris: ${description.replace(/^redirect_uris: /, '')}`);
      }
    }
  }

  if (properties.subject_type !== undefined && properties.subject_type !== 'pairwise') {
    if (properties.subject_type !== 'public') throw metadataError('subject_type must be pairwise (or public, where operators granted it)');
    if (!context.publicSubjectAllowed) {
      throw metadataError('subject_type public lets services correlate a user: only the MPASSid operators can grant it; use pairwise');
    }
  }
  // oidc-provider would refuse this with only "sector_identifier_uri is mandatory property": say why
  // and what to do. A pairwise sub is per sector, and a service's sector is the host of its redirect
  // URIs; with several hosts the service must name its sector itself.
  const pairwise = properties.subject_type === undefined || properties.subject_type === 'pairwise';
  const redirectHosts = [...new Set(redirects.map((u) => u.host))];
  if (pairwise && redirectHosts.length > 1 && properties.sector_identifier_uri === undefined) {
    throw metadataError(
      `redirect URIs on more than one host (${redirectHosts.join(', ')}) need a sector_identifier_uri: subjects are pairwise, ` +
        'one per sector, and without it the sector is the host of the redirect URIs. Give an https sector_identifier_uri ' +
        'that lists every redirect URI, use redirect URIs on one host, or register the loopback (development) redirect ' +
        'URI as a separate development service',
    );
  }
  if (properties.backchannel_logout_uri !== undefined) checkBackchannelUri(properties.backchannel_logout_uri, context);

  const method = properties.token_endpoint_auth_method ?? (native ? 'none' : 'client_secret_basic');
  if (typeof method !== 'string' || !AUTH_METHODS.includes(method)) {
    throw metadataError(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`);
  }
  if (method === 'none' && !native) throw metadataError('token_endpoint_auth_method none is only for native apps (application_type native)');
  if (native && method !== 'none') throw metadataError('a native app is a public client: token_endpoint_auth_method must be none');
  properties.token_endpoint_auth_method = method;
  if (method === 'none') {
    // oidc-provider generated a secret before this policy defaulted the method: a public client has none.
    delete properties.client_secret;
    delete properties.client_secret_expires_at;
  }

  if (properties.grant_types !== undefined) {
    if (!Array.isArray(properties.grant_types)) throw metadataError('grant_types must be an array');
    for (const grant of properties.grant_types) {
      if (grant === 'authorization_code') continue;
      if (grant === 'refresh_token') {
        if (context.refreshTokensAllowed) continue;
        throw metadataError('grant type refresh_token is not allowed for this service (operators may allow it after review)');
      }
      throw metadataError(`grant type ${String(grant)} is not supported: only authorization_code`);
    }
  }
  if (properties.response_types !== undefined) {
    if (!Array.isArray(properties.response_types) || properties.response_types.some((t) => t !== 'code')) {
      throw metadataError('response_types must be ["code"]');
    }
  }

  const hosts = new Set(redirects.map((u) => u.hostname));
  for (const field of URI_METADATA) {
    const value = properties[field];
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw metadataError(`${field} must be an absolute URL`);
    }
    if (!hosts.has(url.hostname)) throw metadataError(`${field} must be on a host of a redirect URI (${[...hosts].join(', ')})`);
  }

  if (properties.service_description !== undefined) {
    if (typeof properties.service_description !== 'string' || properties.service_description.length > 4000) {
      throw metadataError('service_description must be a string of at most 4000 characters');
    }
  }
  if (properties.contacts !== undefined) {
    if (!Array.isArray(properties.contacts) || properties.contacts.some((c) => typeof c !== 'string' || !c.includes('@'))) {
      throw metadataError('contacts must be an array of e-mail addresses');
    }
  }
}
