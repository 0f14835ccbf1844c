import type { Middleware } from 'koa';

declare module 'koa' {
  interface BaseContext {
    /** Set while a mounted middleware runs (the koa-mount convention oidc-provider reads). */
    mountPath?: string | undefined;
  }
}

/**
 * Runs `middleware` for requests under `prefix`, with the prefix removed from `ctx.path` while it
 * runs (restored afterwards, also on errors); other requests pass on.
 */
export function mountAt(prefix: string, middleware: Middleware): Middleware {
  const trimmed = prefix.replace(/\/+$/, '');
  return async (ctx, next) => {
    const path = ctx.path;
    if (path !== trimmed && !path.startsWith(`${trimmed}/`)) return next();
    const previousMountPath = ctx.mountPath;
    ctx.path = path.slice(trimmed.length) || '/';
    // oidc-provider builds its absolute URLs from ctx.mountPath (it would otherwise drop the prefix
    // from every endpoint in discovery); nested mounts add up.
    ctx.mountPath = `${previousMountPath ?? ''}${trimmed}`;
    let calledNext = false;
    try {
      await middleware(ctx, async () => {
        calledNext = true;
        ctx.path = path;
        ctx.mountPath = previousMountPath;
        await next();
      });
    } finally {
      if (!calledNext) {
        ctx.path = path;
        ctx.mountPath = previousMountPath;
      }
    }
  };
}
