import type { Context } from 'koa';
import type { BridgeConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Storage } from '../storage/types.js';
import { DUMMY_HASH, verifyPassword } from './passwords.js';
import { ApiError } from './request.js';
import type { OperatorState } from './roles.js';
import { SignInThrottle } from './throttle.js';
import { PoolFullError, verificationPool, type VerificationPool } from './verification-pool.js';
import { metrics } from '../observability/metrics.js';

/**
 * Who is calling the admin API: HTTP Basic against `admin.operators`. Order matters for cost: a
 * request without credentials is refused outright, a throttled one after one store read, and only
 * then is the password hashed, in the process's bounded pool. A 401 carries no `WWW-Authenticate:
 * Basic` challenge: a browser must not prompt, then keep and resend the credentials on requests
 * another site makes it send.
 */

type Operator = BridgeConfig['admin']['operators'][number];

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The address attempts are counted under. Behind a trusted proxy, the entry that proxy appended
 * (the last one): earlier X-Forwarded-For entries are whatever the client chose to send.
 */
function clientAddress(ctx: Context): string {
  if (ctx.app.proxy && ctx.ips.length > 0) return ctx.ips[ctx.ips.length - 1]!;
  return ctx.socket.remoteAddress ?? 'unknown';
}

const unauthorized = () => new ApiError(401, 'unauthorized', 'operator credentials required (Authorization: Basic)');

export class OperatorAuthenticator {
  private readonly operators: Map<string, Operator>;
  private readonly throttle: SignInThrottle;
  private readonly pool: VerificationPool;

  constructor(
    config: BridgeConfig['admin'],
    storage: Storage,
    private readonly logger: Logger,
  ) {
    this.operators = new Map(config.operators.map((o) => [o.username, o]));
    this.throttle = new SignInThrottle(storage, config.throttle);
    this.pool = verificationPool(config.throttle.concurrentVerifications, config.throttle.queuedVerifications);
  }

  async authenticate(ctx: Context): Promise<OperatorState> {
    const credentials = parseBasic(ctx.get('authorization'));
    if (!credentials) throw unauthorized();
    const address = clientAddress(ctx);
    await this.throttle.check(address, credentials.username);
    const operator = this.operators.get(credentials.username);
    let matches: boolean;
    try {
      // Unknown names are hashed too (against a dummy): the answer takes as long either way.
      matches = await this.pool.run(() => verifyPassword(credentials.password, operator?.passwordHash ?? DUMMY_HASH));
    } catch (err) {
      if (!(err instanceof PoolFullError)) throw err;
      metrics.rateLimitRefusals.inc({ limit: 'concurrent-password-checks' });
      throw new ApiError(429, 'too_many_requests', 'too many sign-ins in progress; try again shortly', { 'Retry-After': '1' });
    }
    if (!matches || !operator) {
      await this.throttle.recordFailure(address, credentials.username);
      // Never the username or password: a mistyped password is often another account's.
      this.logger.warn({ address, path: ctx.path }, 'admin sign-in failed');
      throw unauthorized();
    }
    return { operator: operator.username, operatorEnvironments: operator.environments };
  }
}
