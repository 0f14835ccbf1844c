import { createHash } from 'node:crypto';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { BridgeConfig } from '../config/schema.js';
import { StoreUnavailableError, type Storage } from '../storage/types.js';
import { ApiError } from './request.js';
import { metrics } from '../observability/metrics.js';

/**
 * Failed admin sign-ins, counted per client address and per username in the shared store, so every
 * instance (and every environment) of the deployment counts together. `check` runs before any
 * password is hashed: a blocked attempt costs one store read, not an scrypt.
 */

export type ThrottleLimits = BridgeConfig['admin']['throttle'];

/** Usernames are not kept in the store as given (they may be people's names): a short hash keys them. */
const usernameKey = (username: string): string => createHash('sha256').update('mpassid-admin-user\0').update(username, 'utf8').digest('base64url').slice(0, 22);

function unavailable(err: unknown): StoreUnavailableError {
  return new StoreUnavailableError('the store that counts admin sign-in attempts is unavailable', { cause: err });
}

export class SignInThrottle {
  private readonly byAddress: RateLimiterAbstract;
  private readonly byUsername: RateLimiterAbstract;

  constructor(
    storage: Storage,
    private readonly limits: ThrottleLimits,
  ) {
    this.byAddress = storage.rateLimiter({ name: 'admin-address', points: limits.failuresPerAddress, durationSeconds: limits.windowSeconds });
    this.byUsername = storage.rateLimiter({ name: 'admin-username', points: limits.failuresPerUsername, durationSeconds: limits.windowSeconds });
  }

  /** Throws 429 (with Retry-After) when the address or the username has no failures left in this window. */
  async check(address: string, username: string): Promise<void> {
    let counts: [RateLimiterRes | null, RateLimiterRes | null];
    try {
      counts = await Promise.all([this.byAddress.get(address), this.byUsername.get(usernameKey(username))]);
    } catch (err) {
      throw unavailable(err);
    }
    const [perAddress, perUsername] = counts;
    const blocked =
      perAddress && perAddress.consumedPoints >= this.limits.failuresPerAddress
        ? { res: perAddress, what: 'from this address' }
        : perUsername && perUsername.consumedPoints >= this.limits.failuresPerUsername
          ? { res: perUsername, what: 'for this username' }
          : undefined;
    if (!blocked) return;
    const seconds = Math.max(1, Math.ceil(blocked.res.msBeforeNext / 1000));
    metrics.rateLimitRefusals.inc({ limit: 'operator-sign-in' });
    throw new ApiError(429, 'too_many_requests', `too many failed sign-ins ${blocked.what}; try again in ${seconds} s`, { 'Retry-After': String(seconds) });
  }

  /** Counts one failed attempt against both the address and the username. */
  async recordFailure(address: string, username: string): Promise<void> {
    const results = await Promise.allSettled([this.byAddress.consume(address), this.byUsername.consume(usernameKey(username))]);
    for (const result of results) {
      // A RateLimiterRes rejection only says the key is over its limit: counted all the same.
      if (result.status === 'rejected' && !(result.reason instanceof RateLimiterRes)) throw unavailable(result.reason);
    }
  }
}
