import type { StateStore } from '../../storage/types.js';
import type { SamlKeys } from '../../config/saml-keys.js';

/** What every connector is built with, besides its directory's settings and secret. */
export interface ConnectorOptions {
  /** The longest any call to a directory may take. */
  timeoutMs: number;
  /** Clock skew accepted in what directories sign (tokens, assertions). */
  clockToleranceSeconds: number;
  /** Plain-http directories are only accepted outside production (the bundled test directories). */
  allowHttp: boolean;
  /** Shared by every instance: one-time values a directory sends (JWT ids, SAML assertion ids) are remembered here. */
  replay: StateStore;
  /** The bridge's issuer, under which connectors publish what directories need (e.g. SAML metadata). */
  issuer: string;
  /** The bridge's own SAML service-provider keys (signing AuthnRequests, decrypting assertions). */
  samlKeys?: SamlKeys;
}
