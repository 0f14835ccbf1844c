/**
 * What one step of a login already spent, kept in this process for a short window so that the same
 * browser's repeat of the step (a reload after a 503) can finish it instead of finding the one-time
 * state gone. Keys are secrets only that browser holds (its signed transaction handle). Bounded:
 * the oldest entry goes first.
 */
export class RetryMemo<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, { value, until: Date.now() + this.windowMs });
    // Insertion order is age order: expired entries and, past the bound, the oldest go first.
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && entry.until > Date.now()) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
