import { describe, expect, it } from '@jest/globals';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Koa, { type Context, type Middleware } from 'koa';
import { mountAt } from '../../src/http/mount.js';

/** A real Koa context for `url`, without a server. */
function contextFor(url: string): Context {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.method = 'GET';
  req.headers.host = 'localhost';
  return new Koa().createContext(req, new ServerResponse(req)) as Context;
}

/** Runs `mounted` and records what the inner middleware and the rest of the chain saw. */
async function run(prefix: string, url: string, inner: Middleware = async () => {}) {
  const seen: { inner?: { path: string; mountPath: string | undefined; url: string }; next?: { path: string; mountPath: string | undefined } } = {};
  const ctx = contextFor(url);
  await mountAt(prefix, async (c, next) => {
    seen.inner = { path: c.path, mountPath: c.mountPath, url: c.url };
    await inner(c, next);
  })(ctx, async () => {
    seen.next = { path: ctx.path, mountPath: ctx.mountPath };
  });
  return { ctx, seen };
}

describe('mountAt', () => {
  it('runs the middleware under the prefix with the prefix stripped (query kept)', async () => {
    const { ctx, seen } = await run('/test-directory', '/test-directory/interaction/abc?x=1');
    expect(seen.inner).toEqual({ path: '/interaction/abc', mountPath: '/test-directory', url: '/interaction/abc?x=1' });
    expect(seen.next).toBeUndefined();
    expect(ctx.path).toBe('/test-directory/interaction/abc');
    expect(ctx.url).toBe('/test-directory/interaction/abc?x=1');
    expect(ctx.mountPath).toBeUndefined();
  });

  it('maps the prefix itself to /', async () => {
    expect((await run('/test-directory', '/test-directory')).seen.inner?.path).toBe('/');
    expect((await run('/test-directory', '/test-directory/')).seen.inner?.path).toBe('/');
  });

  it('ignores a trailing slash on the prefix', async () => {
    expect((await run('/test-directory/', '/test-directory/token')).seen.inner?.path).toBe('/token');
  });

  it('passes other paths on untouched, including ones that merely start with the same letters', async () => {
    for (const url of ['/', '/auth', '/test-directoryx/auth', '/test', '/other/test-directory/auth']) {
      const { ctx, seen } = await run('/test-directory', url);
      expect(seen.inner).toBeUndefined();
      expect(seen.next).toEqual({ path: url, mountPath: undefined });
      expect(ctx.path).toBe(url);
    }
  });

  it('restores the full path when the middleware hands on to the rest of the chain', async () => {
    const { seen, ctx } = await run('/test-directory', '/test-directory/nothing-here', async (_c, next) => next());
    expect(seen.next).toEqual({ path: '/test-directory/nothing-here', mountPath: undefined });
    expect(ctx.path).toBe('/test-directory/nothing-here');
  });

  it('restores the path and mount path when the middleware throws', async () => {
    const ctx = contextFor('/test-directory/token');
    const failing = mountAt('/test-directory', async (c) => {
      expect(c.path).toBe('/token');
      throw new Error('boom');
    });
    await expect(failing(ctx, async () => {})).rejects.toThrow('boom');
    expect(ctx.path).toBe('/test-directory/token');
    expect(ctx.mountPath).toBeUndefined();
  });

  it('nests: the inner mount sees the path relative to both prefixes and both are restored', async () => {
    const ctx = contextFor('/a/b/c');
    let innerPath: string | undefined;
    let innerMount: string | undefined;
    await mountAt(
      '/a',
      mountAt('/b', async (c) => {
        innerPath = c.path;
        innerMount = c.mountPath;
      }),
    )(ctx, async () => {});
    expect(innerPath).toBe('/c');
    expect(innerMount).toBe('/a/b');
    expect(ctx.path).toBe('/a/b/c');
    expect(ctx.mountPath).toBeUndefined();
  });
});
