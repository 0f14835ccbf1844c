import type { DirectoryAccounts } from '../config/schema.js';
import type { UpstreamClaimsProfile } from '../claims/evaluate.js';
import type { LocalizedText } from '../config/schema.js';

/**
 * What a school directory said about a user: untrusted until the claims pipeline has checked it.
 * The attributes are an open bag of the directory's own claim names.
 */
export interface UpstreamIdentity {
  upstreamId: string;
  issuer: string;
  /** The directory's subject; with upstreamId it is the account's identity. */
  subject: string;
  /** When the user authenticated at the directory (epoch seconds). */
  authTime: number;
  attributes: Record<string, unknown>;
}

/** Per-login secrets kept server-side between the redirect to the directory and its callback. */
export interface UpstreamTransaction {
  upstreamId: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  maxAge?: number;
  /** Epoch seconds when the redirect was made; a forced re-authentication must be newer. */
  startedAt: number;
  forceLogin: boolean;
}

export interface BeginOptions {
  redirectUri: string;
  /** The service asked for re-authentication (prompt=login). */
  forceLogin?: boolean;
  maxAge?: number;
  uiLocales?: string;
}

/** How a directory is presented: in the chooser, to operators and to the health checks. */
export interface DirectoryListing {
  id: string;
  displayName: LocalizedText;
  issuer: string;
  logoUri?: string;
  /** The education provider it belongs to (the chooser groups by it). */
  provider?: { name: LocalizedText; oid?: string };
  /** The schools it vouches for, with the names given for them (else the registry's). */
  schools: Array<{ id: string; name?: LocalizedText }>;
}

export interface UpstreamConnector {
  readonly id: string;
  readonly displayName: LocalizedText;
  /** Whose accounts it holds: decides which environment offers it (see usableIn). */
  readonly accounts: DirectoryAccounts;
  readonly listing: DirectoryListing;
  /** How this directory's claims are read by the claims step. */
  readonly profile: UpstreamClaimsProfile;
  begin(options: BeginOptions): Promise<{ url: URL; transaction: UpstreamTransaction }>;
  /** Validates the callback (state, code, ID token, nonce, issuer, audience) and returns the identity. */
  complete(callbackUrl: URL, transaction: UpstreamTransaction): Promise<UpstreamIdentity>;
}
