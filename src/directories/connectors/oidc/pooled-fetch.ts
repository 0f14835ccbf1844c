import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { CustomFetch } from 'openid-client';

/**
 * The fetch openid-client uses for a directory's discovery, keys, token and userinfo calls: node:http
 * over keep-alive connection pools, the answer read whole (bounded) and handed over as a `Response`
 * (as text: every answer openid-client reads from a directory is JSON, which is UTF-8).
 * The platform `fetch` keeps connections alive too, but goes through the WHATWG machinery (Request
 * objects, web streams, an AbortController per call), which was the largest single item of the
 * bridge's CPU profile per login.
 *
 * Not the `undici` package: importing undici 8 installs its own process-wide dispatcher, which
 * oidc-provider 9 then hands (as the SSRF-guarded dispatcher of a client's jwks_uri fetch) to Node's
 * bundled fetch, whose older dispatcher interface refuses it ("invalid onRequestStart method").
 *
 * What stays as it was: the timeout is openid-client's own `signal` (configuration.timeout), no
 * redirects are followed, TLS is verified as by fetch, and a network failure is a
 * `TypeError('fetch failed')` whose cause is the socket's error, as fetch throws it
 * (classifyDirectoryFailure reads both). New: the body is capped (a directory's answers are small; a
 * runaway one must not fill the bridge's memory).
 */

/** A directory's token, userinfo, discovery or JWKS answer is a few KiB; this leaves ample room. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Idle connections to a directory are kept this long (below common server keep-alive timeouts of 5 s). */
const KEEP_ALIVE_MS = 4_000;

/** Shared by every OIDC directory of the process: one pool per origin inside each agent. */
const agents = {
  http: new HttpAgent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, maxSockets: 64, maxFreeSockets: 16, timeout: 30_000 }),
  https: new HttpsAgent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, maxSockets: 64, maxFreeSockets: 16, timeout: 30_000 }),
};

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function bodyOf(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  // openid-client sends only forms and JSON strings; anything else is a programming error here.
  throw new TypeError('pooledFetch: unsupported request body');
}

class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

export function pooledFetch(maxBytes = MAX_RESPONSE_BYTES): CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') throw new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${target.protocol}`) });
    options.signal?.throwIfAborted();
    const body = bodyOf(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const answer = await new Promise<{ status: number; raw: string[]; body: Buffer }>((done, fail) => {
      const request = (secure ? httpsRequest : httpRequest)(
        target,
        { method: options.method, headers, agent: secure ? agents.https : agents.http, ...(options.signal ? { signal: options.signal } : {}) },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              response.destroy(new ResponseTooLargeError(`the directory's answer exceeds ${maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => done({ status: response.statusCode ?? 0, raw: response.rawHeaders, body: Buffer.concat(chunks, size) }));
          response.on('error', (err) => fail(err instanceof ResponseTooLargeError ? err : asFetchError(err, options.signal)));
        },
      );
      request.on('error', (err) => fail(asFetchError(err, options.signal)));
      request.end(body);
    });
    const responseHeaders = new Headers();
    for (let i = 0; i + 1 < answer.raw.length; i += 2) responseHeaders.append(answer.raw[i]!, answer.raw[i + 1]!);
    const status = answer.status;
    return new Response(NULL_BODY_STATUS.has(status) || options.method === 'HEAD' ? null : answer.body.toString('utf8'), { status, headers: responseHeaders });
  };
}

/** As fetch reports it: the timeout's own error when the signal fired, else TypeError('fetch failed'). */
function asFetchError(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  return new TypeError('fetch failed', { cause: err });
}
