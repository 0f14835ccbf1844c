/**
 * Reads a response body (of a directory, the organisation registry, SAML metadata) up to `limit`
 * bytes; a larger one is refused with the caller's error as soon as it is known, without reading or
 * buffering the rest: an answer from outside must not be able to fill the bridge's memory.
 */
export async function readBoundedBody(response: Response, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
