/**
 * Bounds how many password verifications (scrypt: tens of milliseconds of CPU and a libuv thread
 * each) run at once in this process. Without it a burst of bad-credential requests fills the thread
 * pool that every login's crypto also needs. A few wait their turn; beyond that `run` refuses at once
 * instead of queueing without end.
 */

export class PoolFullError extends Error {
  override readonly name = 'PoolFullError';
}

export class VerificationPool {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw new PoolFullError('too many password verifications in progress');
      // The slot is handed over by the finishing task (active stays counted), so no one overtakes.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

const pools = new Map<string, VerificationPool>();

/**
 * The process's pool for these limits. Every environment served by one process shares it (they share
 * the CPU), so the bound holds per process, not per environment.
 */
export function verificationPool(concurrency: number, queueLimit: number): VerificationPool {
  const key = `${concurrency}/${queueLimit}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new VerificationPool(concurrency, queueLimit);
    pools.set(key, pool);
  }
  return pool;
}
