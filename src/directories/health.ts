import type { Logger } from '../observability/logger.js';
import { HealthCheckFailed } from './connectors/health-check.js';
import type { HealthReport } from './connectors/types.js';

/**
 * Background health checks of the school directories: each one's discovery document and JWKS are
 * fetched on an interval. Operators see the result in the admin API; the chooser marks a directory
 * that is down. Each instance checks on its own (what matters is whether this instance reaches it).
 */

export interface HealthTarget {
  id: string;
  issuer: string;
  /**
   * The directory type's own check (SAML metadata, a Wilma or Opinsys address); without one the
   * target is an OpenID Connect issuer whose discovery document and JWKS are fetched.
   */
  check?: (timeoutMs: number) => Promise<HealthReport>;
}

export interface DirectoryHealth {
  id: string;
  status: 'up' | 'down' | 'unknown';
  discovery: boolean;
  jwks: boolean;
  checkedAt?: string;
  lastOkAt?: string;
  /** Why the last check failed: a short description with no secrets (URLs are the directory's public ones). */
  lastError?: string;
  /** Consecutive failed checks. */
  failures: number;
  /** What needs the operators' attention though the directory works (e.g. a certificate expiring soon). */
  warnings?: string[];
}

export interface HealthMonitorOptions {
  targets: () => Promise<HealthTarget[]>;
  intervalMs: number;
  timeoutMs: number;
  /** Plain-http directories are accepted outside production. */
  allowHttp: boolean;
  /** Consecutive failures before a directory counts as down (one blip does not mark it). */
  downAfter?: number;
  logger: Logger;
}

const MAX_DOCUMENT_BYTES = 512 * 1024;

class CheckFailed extends Error {}

async function fetchJson(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const name = (err as Error).name;
    throw new CheckFailed(name === 'TimeoutError' || name === 'AbortError' ? `no answer from ${url} in ${timeoutMs} ms` : `cannot reach ${url}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CheckFailed(`${url} answered HTTP ${response.status}`);
  }
  const text = await response.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new CheckFailed(`${url} answered a document too large`);
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    return json as Record<string, unknown>;
  } catch {
    throw new CheckFailed(`${url} did not answer a JSON object`);
  }
}

function wellKnown(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export class DirectoryHealthMonitor {
  private readonly results = new Map<string, DirectoryHealth>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: HealthMonitorOptions) {}

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    const tick = (): void => {
      void this.checkNow().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Checks every directory once (concurrent calls share one round). */
  checkNow(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    let targets: HealthTarget[];
    try {
      targets = await this.options.targets();
    } catch (err) {
      this.options.logger.warn({ err }, 'directory health: cannot list the directories');
      return;
    }
    const ids = new Set(targets.map((t) => t.id));
    for (const id of this.results.keys()) if (!ids.has(id)) this.results.delete(id);
    await Promise.all(targets.map((target) => this.check(target)));
  }

  private async check(target: HealthTarget): Promise<void> {
    const previous = this.results.get(target.id);
    const now = new Date().toISOString();
    let discovery = false;
    let jwks = false;
    let error: string | undefined;
    let warnings: string[] = [];
    try {
      if (target.check) {
        warnings = (await target.check(this.options.timeoutMs)).warnings;
      } else {
        ({ discovery, jwks } = await this.checkOidc(target));
      }
    } catch (err) {
      error = err instanceof CheckFailed || err instanceof HealthCheckFailed ? err.message : 'unexpected failure';
      discovery = (err as { discovery?: boolean }).discovery === true;
    }
    const failures = error ? (previous?.failures ?? 0) + 1 : 0;
    const down = failures >= (this.options.downAfter ?? 1);
    const health: DirectoryHealth = {
      id: target.id,
      status: error ? (down ? 'down' : (previous?.status ?? 'unknown')) : 'up',
      discovery,
      jwks,
      checkedAt: now,
      failures,
      ...(warnings.length ? { warnings } : {}),
      ...(error ? { lastError: error } : previous?.lastError ? { lastError: previous.lastError } : {}),
      ...(error ? (previous?.lastOkAt ? { lastOkAt: previous.lastOkAt } : {}) : { lastOkAt: now }),
    };
    if (previous?.status !== health.status && health.status !== 'unknown') {
      const log = health.status === 'down' ? this.options.logger.warn.bind(this.options.logger) : this.options.logger.info.bind(this.options.logger);
      log({ directoryId: target.id, status: health.status, reason: error }, 'directory health changed');
    }
    this.results.set(target.id, health);
  }

  /** An OpenID Connect directory: its discovery document names it, and its JWKS holds keys. */
  private async checkOidc(target: HealthTarget): Promise<{ discovery: boolean; jwks: boolean }> {
    let discovery = false;
    try {
      if (!target.issuer.startsWith('https://') && !(this.options.allowHttp && target.issuer.startsWith('http://'))) {
        throw new CheckFailed('the issuer is not an https URL');
      }
      const document = await fetchJson(wellKnown(target.issuer), this.options.timeoutMs);
      if (document.issuer !== target.issuer) throw new CheckFailed('the discovery document names another issuer');
      discovery = true;
      const jwksUri = document.jwks_uri;
      if (typeof jwksUri !== 'string') throw new CheckFailed('the discovery document has no jwks_uri');
      const keys = await fetchJson(jwksUri, this.options.timeoutMs);
      if (!Array.isArray(keys.keys) || keys.keys.length === 0) throw new CheckFailed(`${jwksUri} holds no keys`);
      return { discovery, jwks: true };
    } catch (err) {
      // The failure's reason, with how far the check got.
      throw Object.assign(err instanceof CheckFailed ? err : new CheckFailed('unexpected failure'), { discovery });
    }
  }

  statusOf(id: string): DirectoryHealth | undefined {
    return this.results.get(id);
  }

  isDown(id: string): boolean {
    return this.results.get(id)?.status === 'down';
  }

  all(): DirectoryHealth[] {
    return [...this.results.values()];
  }
}
