export interface EventuallyOptions {
  /** Give up after this long (then the call rejects). Default 5000. */
  timeoutMs?: number;
  /** Pause between two checks. Default 25. */
  intervalMs?: number;
  /** Said in the rejection: what was awaited. */
  what?: string;
}

/** Thrown by a check: the condition can no longer come (a process exited), so the wait ends at once with this error. */
export class GiveUp extends Error {}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns something truthy, and resolves with that. A check that throws (an
 * `expect` that does not hold yet) counts as not yet, except GiveUp, which ends the wait. Bounded: after `timeoutMs` it rejects with
 * what was awaited and the last error, so a condition that never comes fails the test.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = 5000, intervalMs = 25, what = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      lastError = undefined;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`${what} did not hold within ${timeoutMs} ms${why}`, { cause: lastError });
    }
    await pause(intervalMs);
  }
}

/** The wall clock in whole seconds since the epoch, as JWTs and oidc-provider count time. */
export const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Waits until the wall clock's whole second is past `epochSecond` (a token's iat or exp, a session's
 * end): for behaviour that depends on time passing in code that reads the clock itself.
 */
export async function untilClockPasses(epochSecond: number): Promise<void> {
  await eventually(() => epochSeconds() > epochSecond, {
    timeoutMs: Math.max(0, (epochSecond + 1) * 1000 - Date.now()) + 2000,
    what: `the clock passing ${epochSecond}`,
  });
}

/** Waits until the wall clock is past `instant` (milliseconds since the epoch, or an ISO date). */
export async function untilClockPassesInstant(instant: number | string): Promise<void> {
  const at = typeof instant === 'string' ? Date.parse(instant) : instant;
  await eventually(() => Date.now() > at, { timeoutMs: Math.max(0, at - Date.now()) + 2000, what: `the clock passing ${new Date(at).toISOString()}` });
}
