import { Refusal } from '../http/refusal.js';

/**
 * Why a school directory login failed, as a stable code. The user sees a message chosen by the code;
 * the cause stays in the logs (class and code only: directory responses may carry personal data).
 */
export type DirectoryErrorCode =
  | 'directory_denied' // the directory answered the authorization request with an error (user cancelled, no access)
  | 'directory_unavailable' // the directory could not be reached or answered with a server error
  | 'directory_timeout' // the directory did not answer in time
  | 'directory_invalid_response' // the directory's response failed validation (signature, issuer, audience, nonce, ...)
  | 'directory_transaction_invalid'; // the callback does not belong to a login this browser started

export class DirectoryError extends Refusal<DirectoryErrorCode> {
  override readonly name = 'DirectoryError';
  constructor(
    readonly code: DirectoryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
