import type { HealthReport } from './types.js';

/** A directory health check that failed, with a reason fit for operators (public URLs, no secrets). */
export class HealthCheckFailed extends Error {
  override readonly name = 'HealthCheckFailed';
}

/**
 * Health of a directory that publishes nothing to check (Wilma, Opinsys): its address answers at
 * all, with any status below 500 (a login page, a redirect, even 404 mean it is there).
 */
export async function checkAddressAnswers(url: string, timeoutMs: number): Promise<HealthReport> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const name = (err as Error).name;
    throw new HealthCheckFailed(name === 'TimeoutError' || name === 'AbortError' ? `no answer from ${url} in ${timeoutMs} ms` : `cannot reach ${url}`);
  }
  await response.body?.cancel();
  if (response.status >= 500) throw new HealthCheckFailed(`${url} answered HTTP ${response.status}`);
  return { warnings: [] };
}
