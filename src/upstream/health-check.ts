/** A directory health check that failed, with a reason fit for operators (public URLs, no secrets). */
export class HealthCheckFailed extends Error {
  override readonly name = 'HealthCheckFailed';
}
