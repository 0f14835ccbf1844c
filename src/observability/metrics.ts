import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The bridge's Prometheus metrics: one registry per process (every environment of it counts into the
 * same series; labels say which directory and service). Labels never carry personal data: directory
 * ids, client ids and our own reason codes only.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'mpassid_process_' });

const registers = [metricsRegistry];

export const metrics = {
  loginsStarted: new Counter({
    name: 'mpassid_logins_started_total',
    help: 'Logins sent to a school directory',
    labelNames: ['directory', 'service'] as const,
    registers,
  }),
  loginsCompleted: new Counter({
    name: 'mpassid_logins_completed_total',
    help: 'Logins that ended with a user signed in for the service',
    labelNames: ['directory', 'service'] as const,
    registers,
  }),
  loginsFailed: new Counter({
    name: 'mpassid_logins_failed_total',
    help: 'Logins that ended without a user, by reason (directory failure, blocked attributes, refusals)',
    labelNames: ['directory', 'service', 'reason'] as const,
    registers,
  }),
  loginDuration: new Histogram({
    name: 'mpassid_login_duration_seconds',
    help: 'From the redirect to the school directory to its answer being checked (the user types meanwhile)',
    labelNames: ['directory', 'outcome'] as const,
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers,
  }),
  directoryCalls: new Histogram({
    name: 'mpassid_directory_call_duration_seconds',
    help: "Time of the bridge's own calls to a school directory (discovery, token, user data, metadata)",
    labelNames: ['directory', 'operation', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  }),
  organisationLookups: new Counter({
    name: 'mpassid_organisation_lookups_total',
    help: 'Organisation registry lookups by the cache: hit, miss (asked the registry), stale (an answer past its TTL served: registry down, or refreshed in the background), unavailable (registry known down, no answer on hand), unresolved_outage (a school left unresolved by an outage)',
    labelNames: ['result'] as const,
    registers,
  }),
  storeErrors: new Counter({
    name: 'mpassid_store_errors_total',
    help: 'Commands the session store (Redis) failed to answer',
    registers,
  }),
  storeCommands: new Histogram({
    name: 'mpassid_store_command_duration_seconds',
    help: 'Time of session store (Redis) operations',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.5],
    registers,
  }),
  rateLimitRefusals: new Counter({
    name: 'mpassid_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit (e.g. operator sign-ins)',
    labelNames: ['limit'] as const,
    registers,
  }),
};

/** Times `work` into a histogram with an outcome label ('ok', or the failure's code). */
export async function timed<T>(
  histogram: Histogram<'directory' | 'operation' | 'outcome'>,
  labels: { directory: string; operation: string },
  work: () => Promise<T>,
  outcomeOf: (err: unknown) => string,
): Promise<T> {
  const end = histogram.startTimer(labels);
  try {
    const value = await work();
    end({ outcome: 'ok' });
    return value;
  } catch (err) {
    end({ outcome: outcomeOf(err) });
    throw err;
  }
}
