import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { BridgeConfig } from '../config/schema.js';
import { basePathOf, underIssuer } from '../http/base-path.js';
import type { StateStore } from '../storage/types.js';
import type { BeginOptions, UpstreamConnector, UpstreamTransaction } from '../upstream/types.js';

/** Why the user went to the directory: a service's login, or an operator's attribute check. */
export type HandoffPurpose = { interactionUid: string } | { checkToken: string };

/** Kept server-side while the user is at the directory; the browser only holds an opaque handle. */
export type PendingHandoff = HandoffPurpose & { transaction: UpstreamTransaction };

const TXN_COOKIE = 'mpass_upstream';

/**
 * Sending a browser to a school directory and taking it back at the directory's callback. The
 * transaction is bound to this browser by a signed cookie scoped to that callback path, and is
 * single use: a replayed or raced callback finds nothing.
 */
export class UpstreamHandoff {
  private readonly base: string;
  private readonly secure: boolean;

  constructor(
    private readonly config: BridgeConfig,
    private readonly state: StateStore,
  ) {
    this.base = basePathOf(config.issuer);
    this.secure = config.issuer.startsWith('https://');
  }

  callbackUrl(upstreamId: string): string {
    return underIssuer(this.config.issuer, `/upstream/${upstreamId}/callback`);
  }

  private cookiePath(upstreamId: string): string {
    return `${this.base}/upstream/${upstreamId}/callback`;
  }

  /** Redirects to the directory. Throws UpstreamError when the directory cannot be reached to begin. */
  async redirect(ctx: Context, connector: UpstreamConnector, purpose: HandoffPurpose, options: Omit<BeginOptions, 'redirectUri'>): Promise<void> {
    const { url, transaction } = await connector.begin({ ...options, redirectUri: this.callbackUrl(connector.id) });
    const handle = randomBytes(32).toString('base64url');
    const ttl = this.config.ttl.upstreamTransactionSeconds;
    await this.state.set(`txn:${handle}`, { ...purpose, transaction } satisfies PendingHandoff, ttl);
    ctx.cookies.set(TXN_COOKIE, handle, {
      path: this.cookiePath(connector.id),
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure,
      signed: true,
      maxAge: ttl * 1000,
    });
    ctx.redirect(url.href);
  }

  /** The transaction this browser started for this directory, taken (once); undefined if none. */
  async take(ctx: Context, upstreamId: string): Promise<{ pending?: PendingHandoff; hadCookie: boolean }> {
    const handle = ctx.cookies.get(TXN_COOKIE, { signed: true });
    const pending = handle ? await this.state.take<PendingHandoff>(`txn:${handle}`) : undefined;
    ctx.cookies.set(TXN_COOKIE, null, { path: this.cookiePath(upstreamId) });
    if (!pending || pending.transaction.upstreamId !== upstreamId) return { hadCookie: handle !== undefined };
    return { pending, hadCookie: true };
  }

  /** The callback URL as the directory called it (its query on our registered redirect URI). */
  callbackOf(ctx: Context, pending: PendingHandoff): URL {
    const current = new URL(pending.transaction.redirectUri);
    current.search = ctx.querystring;
    return current;
  }
}
