import { describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Koa from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { errorBoundary } from '../../src/http/errors.js';
import { canonicalHost, isIssuerHost } from '../../src/http/forwarded-host.js';
import { createViews } from '../../src/http/views.js';
import { PageRenderer } from '../../src/http/pages.js';
import { createLogger, serializeError } from '../../src/observability/logger.js';
import { newRequestId, requestContext } from '../../src/observability/request-context.js';
import { requestLog } from '../../src/observability/request-log.js';
import { DirectoryError } from '../../src/directories/errors.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk, _e, done) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

describe('error serialization', () => {
  it('keeps class, message, stack and the cause chain of a raw error', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const fetchFailed = new TypeError('fetch failed', { cause: socket });
    const out = serializeError(new DirectoryError('directory_unavailable', 'token exchange failed', { cause: fetchFailed }));
    expect(out).toMatchObject({
      type: 'DirectoryError',
      message: 'token exchange failed',
      errorCode: 'directory_unavailable',
      cause: { type: 'TypeError', message: 'fetch failed', cause: { type: 'Error', errorCode: 'ECONNREFUSED' } },
    });
    expect(out.stack).toMatch(/^DirectoryError: token exchange failed\n\s+at /);
  });

  it("takes values out of the engine's messages (and the stack's first line), keeping what went wrong", () => {
    const thrown = (f: () => unknown): Error => {
      try {
        f();
      } catch (err) {
        return err as Error;
      }
      throw new Error('did not throw');
    };
    const secret = 'Aino Virtanen 1.2.246.562.24.00000000001';
    const errors = [
      thrown(() => JSON.parse(`Aino ${secret}`)),
      thrown(() => JSON.parse(`{"given_name": "${secret}"`)),
      thrown(() => 'ref' in (secret as unknown as object)),
      thrown(() => {
        (secret as unknown as Record<string, number>).x = 1;
      }),
      thrown(() => Buffer.from(secret as unknown as number[]).readUInt8(secret as unknown as number)),
    ];
    for (const err of errors) {
      const out = serializeError(err);
      expect(JSON.stringify(out)).not.toContain('Aino');
      expect(JSON.stringify(out)).not.toContain('1.2.246');
      expect(out.stack).toMatch(/\n\s+at /);
    }
    expect(serializeError(errors[0]).message).toMatch(/is not valid JSON$/);
    expect(serializeError(errors[2]).message).toBe("Cannot use 'in' operator to search for 'ref' in [value]");
  });

  it('passes an already serialized error through, so serializing twice changes nothing', () => {
    const once = serializeError(new RangeError('out of range'));
    expect(serializeError(once)).toBe(once);
    expect(serializeError({ type: 'Error', message: 'from elsewhere' })).toEqual({ type: 'Error', message: 'from elsewhere' });
  });

  it('leaves out response bodies and anything under `code` that is not an error code', () => {
    const err = Object.assign(new Error('server responded with an error in the response body'), {
      code: 'Qx7_kPz-9aB3dEfGhIjKlMnOpQrStUvWxYz012345', // what an authorization code looks like
      response: { body: 'learner 1.2.246.562.24.00000000001' },
      body: { given_name: 'Aino' },
      cause: { error: 'invalid_grant', given_name: 'Aino' },
    });
    const text = JSON.stringify(serializeError(err));
    expect(text).not.toContain('Qx7_');
    expect(text).not.toContain('Aino');
    expect(text).not.toContain('1.2.246');
    expect(serializeError(err).cause).toEqual({ type: 'Object' });
  });

  it("keeps oidc-provider's error and description, bounds long messages and deep chains", () => {
    expect(serializeError(new oidcErrors.InvalidClient('client authentication failed'))).toMatchObject({
      type: 'InvalidClient',
      error: 'invalid_client',
      description: 'client authentication failed',
      status: 400,
    });
    expect(String(serializeError(new Error('x'.repeat(5000))).message).length).toBeLessThan(600);
    let deep: Error = new Error('bottom');
    for (let i = 0; i < 20; i += 1) deep = new Error(`level ${i}`, { cause: deep });
    expect(JSON.stringify(serializeError(deep)).match(/"type"/g)!.length).toBeLessThanOrEqual(5);
    expect(serializeError('a thrown string with data')).toEqual({ type: 'string' });
  });

  it('logs an error once with class, message and stack; reason codes readable; OAuth codes still censored', () => {
    const { logger, lines, parsed } = capture();
    logger.error({ err: new TypeError('cannot read properties of undefined'), reason: 'directory_timeout', code: 'authcode123' }, 'failed');
    const [line] = parsed();
    expect(line!.err).toMatchObject({ type: 'TypeError', message: 'cannot read properties of undefined' });
    expect(line!.err.stack).toContain('TypeError: cannot read properties of undefined');
    expect(line!.reason).toBe('directory_timeout');
    expect(line!.code).toBe('[redacted]');
    expect(lines.join('')).not.toContain('authcode123');
    expect(lines.join('')).not.toContain('"type":"object"');
  });

  it("adds the request's reference to every line logged while it is served", async () => {
    const { logger, parsed } = capture();
    await requestContext.run({ requestId: 'ABCDEFGHJK' }, async () => {
      await Promise.resolve();
      logger.warn('inside');
    });
    logger.info('outside');
    expect(parsed().map((l) => l.ref)).toEqual(['ABCDEFGHJK', undefined]);
    expect(newRequestId()).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
  });
});

describe('error boundary', () => {
  async function serve(app: Koa): Promise<{ url: string; server: Server }> {
    const server = createServer(app.callback());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  it('answers an unexpected failure with a page showing the reference that is on the error log line', async () => {
    const { logger, parsed } = capture();
    const app = new Koa();
    app.silent = true;
    app.use(requestLog(logger));
    app.use(errorBoundary(new PageRenderer(createViews(), logger), logger));
    app.use((ctx) => {
      if (ctx.path.startsWith('/interaction/')) throw new TypeError('a bug', { cause: new Error('the cause') });
      throw new RangeError('an API bug');
    });
    const { url, server } = await serve(app);
    try {
      const page = await fetch(`${url}/interaction/abc?lang=en`);
      const html = await page.text();
      expect(page.status).toBe(500);
      expect(html).toContain('An unexpected error occurred.');
      expect(html).not.toMatch(/a bug|the cause|\n\s+at /);
      const reference = /Reference: <code>([0-9A-Z]{10})<\/code>/.exec(html)?.[1];
      expect(reference).toBeDefined();
      expect(page.headers.get('x-request-id')).toBe(reference);
      const errorLine = parsed().find((l) => l.msg === 'unexpected error')!;
      expect(errorLine).toMatchObject({
        level: 50,
        ref: reference,
        path: '/interaction/abc',
        err: { type: 'TypeError', message: 'a bug', cause: { type: 'Error', message: 'the cause' } },
      });
      expect(errorLine.err.stack).toContain('TypeError: a bug');
      expect(parsed().find((l) => l.msg === 'request')).toMatchObject({ ref: reference, status: 500 });

      const api = await fetch(`${url}/admin/api/x`);
      const body = (await api.json()) as { error: string; error_description: string };
      expect(api.status).toBe(500);
      expect(body.error).toBe('server_error');
      const apiReference = api.headers.get('x-request-id')!;
      expect(body.error_description).toContain(apiReference);
      expect(parsed().find((l) => l.msg === 'unexpected error' && l.ref === apiReference)?.err).toMatchObject({ type: 'RangeError', message: 'an API bug' });
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  it('puts a reference on every error page, 4xx included, in each language', async () => {
    const { logger } = capture();
    const app = new Koa();
    app.silent = true;
    app.use(requestLog(logger));
    app.use(errorBoundary(new PageRenderer(createViews(), logger), logger));
    app.use(() => undefined);
    const { url, server } = await serve(app);
    try {
      for (const [lang, label] of [
        ['fi', 'Tunniste'],
        ['sv', 'Referens'],
        ['en', 'Reference'],
      ] as const) {
        const page = await fetch(`${url}/interaction/nothing-here?lang=${lang}`);
        expect(page.status).toBe(404);
        expect(await page.text()).toContain(`${label}: <code>${page.headers.get('x-request-id')}</code>`);
      }
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});

describe('hosts', () => {
  it('compares hosts as DNS does: any case, trailing dot, default port', () => {
    const issuer = new URL('https://mpassid.example/test');
    expect(isIssuerHost('MPASSid.Example', issuer)).toBe(true);
    expect(isIssuerHost('mpassid.example.', issuer)).toBe(true);
    expect(isIssuerHost('mpassid.example:443', issuer)).toBe(true);
    expect(isIssuerHost('mpassid.example:8443', issuer)).toBe(false);
    expect(isIssuerHost('mpassid.example.evil', issuer)).toBe(false);
    expect(isIssuerHost('', issuer)).toBe(false);
    expect(canonicalHost('Bridge.Example.:3000', 'http:')).toBe('bridge.example:3000');
    expect(canonicalHost('a/b', 'http:')).toBeUndefined();
  });

  it('reads TRUST_FORWARDED_HOST, off by default, and refuses it without trustProxy', () => {
    expect(parseConfig({}).trustForwardedHost).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true', TRUST_FORWARDED_HOST: 'true' }, '/nonexistent-dir').trustForwardedHost).toBe(true);
    expect(() => parseConfig({ trustForwardedHost: true })).toThrow(ConfigError);
  });
});
