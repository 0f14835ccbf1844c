import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Fields that may hold personal data or credentials. The users are children: their names, learner
 * numbers and identifiers, and every token, code and secret, are censored wherever they appear.
 */
const SENSITIVE_KEYS = [
  'password',
  'secret',
  'client_secret',
  'clientSecret',
  'code',
  'code_verifier',
  'codeVerifier',
  'state',
  'nonce',
  'id_token',
  'access_token',
  'refresh_token',
  'token',
  'id_token_hint',
  'login_hint',
  'registration_access_token',
  'authorization',
  'cookie',
  'set-cookie',
  'given_name',
  'family_name',
  'nickname',
  'name',
  'username',
  'sub',
  'accountId',
  'learnerId',
  'learner_id',
  'claims',
  'attributes',
];

const REDACT_PATHS = SENSITIVE_KEYS.flatMap((key) => {
  const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
  return [segment.startsWith('.') ? key : segment, `*${segment}`, `*.*${segment}`];
});

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'mpassid-bridge' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Error objects can carry upstream response bodies; log their class and code, not the payload.
      serializers: { err: serializeError },
    },
    destination,
  );
}

export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const e = err as Error & { code?: unknown; error?: unknown; status?: unknown };
  return {
    type: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.error === 'string' ? { error: e.error } : {}),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
  };
}
