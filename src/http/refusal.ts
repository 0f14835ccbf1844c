import type { MessageKey } from './i18n.js';

/**
 * A request refused for a reason the user is told about: the page shows the message of `code`, the
 * log gets the code as its reason, and the cause stays in the logs. Domains give their refusals a
 * class of their own (DirectoryError) so that this layer needs to know none of them.
 */
export abstract class Refusal<Code extends string = string> extends Error {
  abstract readonly code: Code;

  get messageKey(): MessageKey {
    return `error.${this.code}` as MessageKey;
  }
}
