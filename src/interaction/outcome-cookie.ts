import type { Context } from 'koa';
import { z } from 'zod';
import type { LoginContext } from './context.js';
import type { LoginFailure } from './outcomes.js';

/*
 * The callback hands a failed login's outcome to /interaction/<uid>/complete in a cookie of this
 * browser, not in the store: nothing to write or lose when the store fails between the two steps.
 * The value is signed with the cookie keys (it cannot be made or changed outside the bridge), names
 * its interaction, and is scoped to that interaction's path: only the browser that holds the
 * interaction cookie reaches /complete. It holds no personal data. It is read, not taken, so the
 * page can be reloaded; it ends with the login.
 */

const OUTCOME_COOKIE = 'mpass_login';

const directoryId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);
const ref = z.string().max(64).optional();

/** What the cookie may hold: exactly the failures the callback writes. */
const outcomeSchema = z.union([
  z
    .object({
      ok: z.literal(false),
      directoryId,
      code: z.enum(['directory_denied', 'directory_unavailable', 'directory_timeout', 'directory_invalid_response', 'directory_transaction_invalid']),
      ref,
    })
    .strict(),
  z
    .object({
      ok: z.literal(false),
      directoryId,
      code: z.literal('attributes_blocked'),
      reason: z.enum(['username_missing', 'learner_id_missing', 'learner_id_invalid']),
      ref,
    })
    .strict(),
  z.object({ ok: z.literal(false), directoryId, code: z.enum(['service_not_allowed', 'directory_not_in_use', 'service_not_allowed_here']) }).strict(),
]) satisfies z.ZodType<LoginFailure>;

const cookieSchema = z.object({ uid: z.string().min(1).max(64), outcome: outcomeSchema }).strict();

function cookieOptions(login: LoginContext, uid: string) {
  return { path: `${login.base}/interaction/${uid}`, httpOnly: true, sameSite: 'lax' as const, secure: login.secureCookie, signed: true };
}

export function keepOutcome(ctx: Context, login: LoginContext, uid: string, outcome: LoginFailure): void {
  const value = Buffer.from(JSON.stringify({ uid, outcome })).toString('base64url');
  ctx.cookies.set(OUTCOME_COOKIE, value, { ...cookieOptions(login, uid), maxAge: login.loginTtl * 1000, overwrite: true });
}

/** The outcome of this interaction, if this browser holds it (undefined for none, another interaction's, or a damaged one). */
export function outcomeOf(ctx: Context, uid: string): LoginFailure | undefined {
  const raw = ctx.cookies.get(OUTCOME_COOKIE, { signed: true });
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const result = cookieSchema.safeParse(parsed);
  return result.success && result.data.uid === uid ? result.data.outcome : undefined;
}
