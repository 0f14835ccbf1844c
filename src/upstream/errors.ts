/**
 * Why a school directory login failed, as a stable code. The user sees a message chosen by the code;
 * the cause stays in the logs (class and code only: directory responses may carry personal data).
 */
export type UpstreamErrorCode =
  | 'upstream_denied' // the directory answered the authorization request with an error (user cancelled, no access)
  | 'upstream_unavailable' // the directory could not be reached or answered with a server error
  | 'upstream_timeout' // the directory did not answer in time
  | 'upstream_invalid_response' // the directory's response failed validation (signature, issuer, audience, nonce, ...)
  | 'upstream_transaction_invalid'; // the callback does not belong to a login this browser started

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
