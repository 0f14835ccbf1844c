/**
 * The few operations the stores need, each on exactly one key (so the same code runs on one Redis,
 * Sentinel or Redis Cluster, and in process memory). Values are strings; TTLs in seconds
 * (undefined: no expiry).
 */
export interface Backend {
  /** A record: a JSON payload plus a consumption mark that can be set exactly once. Replaces any previous record. */
  putRecord(key: string, payload: string, ttlSeconds?: number, consumed?: number): Promise<void>;
  getRecord(key: string): Promise<{ payload: string; consumed?: number } | undefined>;
  /** Sets the consumption mark if unset: `ok` for the one caller that set it, `already` for all others. */
  consumeRecord(key: string, at: number): Promise<'ok' | 'already' | 'missing'>;

  setValue(key: string, value: string, ttlSeconds?: number): Promise<void>;
  getValue(key: string): Promise<string | undefined>;
  /** Reads and deletes in one step: of concurrent callers, one gets the value. */
  takeValue(key: string): Promise<string | undefined>;
  /** Sets the value only if the key holds none (SET NX): true for the one caller that set it. */
  addValue(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /** Sets the value to live the longer of `ttlSeconds` and the time the key had left: one step, never shorter. */
  setValueKeepingLonger(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Makes an existing key live at least `ttlSeconds` from now; never shortens it, never creates it. */
  extendValue(key: string, ttlSeconds: number): Promise<void>;
  /** Whole seconds the key has left (rounded up); undefined when it is gone or never expires. */
  secondsLeft(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;

  /** Adds to a set; the set lives at least as long as its longest-lived member. */
  addMember(key: string, member: string, ttlSeconds?: number): Promise<void>;
  members(key: string): Promise<string[]>;

  /** Appends to the end of a list (RPUSH); lists never expire. */
  append(key: string, value: string): Promise<void>;
  /** Elements `start`..`stop` of a list, both inclusive, negative counting from the end (LRANGE). */
  range(key: string, start: number, stop: number): Promise<string[]>;
  /** Appends only if the list's last element is `expectedLast` (undefined: the list is empty); true if appended. */
  appendAfter(key: string, expectedLast: string | undefined, value: string): Promise<boolean>;
  /** The number of elements of a list (LLEN). */
  length(key: string): Promise<number>;

  isAvailable(): boolean;
  ping(): Promise<void>;
  close(): Promise<void>;
}
