import type Koa from 'koa';
import type { Middleware } from 'koa';

/**
 * Runs another Koa application's middleware stack inside this app, on the same context (how the
 * provider's own routes are hosted). The stack's own `next` continues with our remaining middleware.
 */
export function subApp(app: Koa): Middleware {
  const stack = app.middleware;
  return (ctx, next) => {
    const dispatch = (index: number): Promise<void> => {
      const fn = index === stack.length ? next : stack[index];
      if (!fn) return Promise.resolve();
      return Promise.resolve(fn(ctx, () => dispatch(index + 1)));
    };
    return dispatch(0);
  };
}
