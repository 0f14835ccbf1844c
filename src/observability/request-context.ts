import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

declare module 'koa' {
  interface DefaultState {
    /** This request's reference: on its log lines, in `X-Request-Id` and on any error page. */
    requestId?: string;
  }
}

/**
 * Crockford's base32 alphabet: no I, L, O or U, so a reference read aloud or copied by hand from a
 * phone screen by a pupil or teacher cannot be mistaken for another one.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Ten characters (50 random bits): short enough to read out, unique enough to find one request in the logs. */
export function newRequestId(): string {
  const bytes = randomBytes(10);
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return id;
}

/**
 * The request being served, for log lines written anywhere below it (the logger's mixin adds its
 * reference), so call sites need not pass the reference along.
 */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

/**
 * This request's reference, created on first use: normally by the request log, which runs first;
 * otherwise (a page rendered by an app without it) here, so an error page never lacks one.
 */
export function requestIdOf(ctx: Context): string {
  let id = ctx.state.requestId;
  if (!id) {
    id = currentRequestId() ?? newRequestId();
    ctx.state.requestId = id;
    if (!ctx.headerSent) ctx.set('X-Request-Id', id);
  }
  return id;
}
