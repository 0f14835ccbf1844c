/**
 * What a school directory said about a user, whatever protocol it speaks: the neutral identity every
 * connector returns and the claims step reads. Untrusted until the claims step has checked it: the
 * attributes are an open bag of the directory's own names and raw values (a string, a list of
 * strings, or what a JSON answer held), never mapped or validated by the connector.
 */
export interface DirectoryIdentity {
  /** The bridge's id of the directory. */
  directoryId: string;
  /** Who vouched: an OIDC issuer, a SAML identity provider's entity id, a Wilma or Opinsys address. */
  issuer: string;
  /** The directory's unique id of the user; with directoryId it is the account's identity. */
  subject: string;
  /** When the user authenticated at the directory (epoch seconds). */
  authTime: number;
  attributes: Record<string, unknown>;
}
