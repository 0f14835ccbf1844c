import type { LocalizedText } from '../../config/common.js';
import type { DirectoryIdentity } from '../../identity/directory-identity.js';

export type { DirectoryIdentity };

/** What a login at a directory starts from. */
export interface BeginRequest {
  /** The directory's callback at the bridge (`<issuer>/upstream/<id>/callback`). */
  callbackUrl: string;
  /** The service asked for re-authentication (prompt=login, or max_age). */
  forceLogin: boolean;
  maxAge?: number;
  uiLocales?: string;
}

/** Where to send the browser, and the connector's own state for the callback (JSON, kept server-side). */
export interface BeginResult {
  redirect: URL;
  state: ConnectorState;
}

/** A connector's per-login state: opaque to everyone else, never sent to the browser. */
type ConnectorState = Record<string, unknown>;

/** The directory's callback request as the browser made it: a redirect (GET) or a form post (SAML). */
export interface CallbackRequest {
  method: 'GET' | 'POST';
  /** The full callback URL with its query. */
  url: URL;
  /** The form fields of a POST (application/x-www-form-urlencoded). */
  form: Record<string, string>;
}

/** Kept server-side between the redirect to the directory and its callback. */
export interface DirectoryTransaction {
  directoryId: string;
  callbackUrl: string;
  /** Epoch seconds when the redirect was made; a forced re-authentication must be newer. */
  startedAt: number;
  forceLogin: boolean;
  maxAge?: number;
  state: ConnectorState;
}

/**
 * One directory's protocol: a connector begins a login and completes it from the callback, and
 * returns a neutral identity. It never maps or validates MPASSid attributes (the claims step does,
 * the same way for every type).
 */
export interface DirectoryConnector {
  readonly id: string;
  /** How the directory comes back: a redirect (GET) or a cross-site form post (SAML's HTTP-POST). */
  readonly callbackMethod: 'GET' | 'POST';
  begin(request: BeginRequest): Promise<BeginResult>;
  /** Validates the callback against this browser's transaction and returns the identity. */
  complete(callback: CallbackRequest, transaction: DirectoryTransaction): Promise<DirectoryIdentity>;
  /**
   * Health: whether the directory is reachable and what it publishes is valid (throws
   * HealthCheckFailed with a readable reason if not). Without it: an OIDC discovery and JWKS check.
   */
  checkHealth?(timeoutMs: number): Promise<HealthReport>;
}

/** What a health check found, besides reachability (e.g. a SAML certificate about to expire). */
export interface HealthReport {
  warnings: string[];
}

/** How a directory is presented: in the chooser, to operators and to the health checks. */
export interface DirectoryListing {
  id: string;
  displayName: LocalizedText;
  /** Its public address (see endpointOf). */
  issuer: string;
  logoUri?: string;
  /** The education provider it belongs to (the chooser groups by it). */
  provider?: { name: LocalizedText; oid?: string };
  /** The schools it vouches for, with the names given for them (else the registry's). */
  schools: Array<{ id: string; name?: LocalizedText }>;
}
