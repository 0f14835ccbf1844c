import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { BridgeConfig } from '../config/schema.js';
import { basePathOf, underIssuer } from '../http/base-path.js';
import { FormError, readFormText } from '../http/form.js';
import type { StateStore } from '../storage/types.js';
import type { Directory } from './connectors/index.js';
import type { BeginRequest, CallbackRequest, DirectoryTransaction } from './connectors/types.js';
import { RetryMemo } from '../http/retry-memo.js';

/** Why the user went to the directory: a service's login, or an operator's attribute check. */
export type HandoffPurpose = { interactionUid: string; clientId?: string } | { checkToken: string };

/** Kept server-side while the user is at the directory; the browser only holds an opaque handle. */
export type PendingHandoff = HandoffPurpose & { transaction: DirectoryTransaction };

const TXN_COOKIE = 'mpass_upstream';

/** How long a transaction this process took stays available to the same browser's repeat of its callback. */
const RETAKE_WINDOW_MS = 2 * 60 * 1000;

/** A SAML response with its certificates and an encrypted assertion fits well within this. */
const CALLBACK_FORM_LIMIT_BYTES = 512 * 1024;

/**
 * Sending a browser to a school directory and taking it back at the directory's callback. The
 * transaction is bound to this browser by a signed cookie scoped to that callback path, and is
 * single use: a replayed or raced callback finds nothing.
 */
export class DirectoryHandoff {
  private readonly base: string;
  private readonly secure: boolean;
  /** Transactions taken here, by handle: the store's copy is gone, and a callback whose later writes fail is repeated. */
  private readonly taken = new RetryMemo<PendingHandoff>(RETAKE_WINDOW_MS);

  constructor(
    private readonly config: BridgeConfig,
    private readonly state: StateStore,
  ) {
    this.base = basePathOf(config.issuer);
    this.secure = config.issuer.startsWith('https://');
  }

  callbackUrl(directoryId: string): string {
    return underIssuer(this.config.issuer, `/upstream/${directoryId}/callback`);
  }

  private cookiePath(directoryId: string): string {
    return `${this.base}/upstream/${directoryId}/callback`;
  }

  /** Redirects to the directory. Throws DirectoryError when the directory cannot be reached to begin. */
  async redirect(ctx: Context, directory: Directory, purpose: HandoffPurpose, options: Omit<BeginRequest, 'callbackUrl'>): Promise<void> {
    ctx.redirect(await this.begin(ctx, directory, purpose, options));
  }

  /**
   * Begins at the directory: keeps the transaction, gives this browser its cookie, and returns where
   * to send the browser. Throws DirectoryError when the directory cannot be reached to begin.
   */
  async begin(ctx: Context, directory: Directory, purpose: HandoffPurpose, options: Omit<BeginRequest, 'callbackUrl'>): Promise<string> {
    const { connector } = directory;
    const callbackUrl = this.callbackUrl(connector.id);
    const { redirect, state } = await connector.begin({ ...options, callbackUrl });
    const transaction: DirectoryTransaction = {
      directoryId: connector.id,
      callbackUrl,
      startedAt: Math.floor(Date.now() / 1000),
      forceLogin: options.forceLogin,
      ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}),
      state,
    };
    const handle = randomBytes(32).toString('base64url');
    const ttl = this.config.ttl.upstreamTransactionSeconds;
    await this.state.set(`txn:${handle}`, { ...purpose, transaction } satisfies PendingHandoff, ttl);
    // The interaction's uid rides along (signed) so that a callback whose transaction is lost can
    // still offer to hand the service an error.
    const value = 'interactionUid' in purpose ? `${handle}.${purpose.interactionUid}` : handle;
    ctx.cookies.set(TXN_COOKIE, value, {
      path: this.cookiePath(connector.id),
      httpOnly: true,
      // A directory that answers with a cross-site form post (SAML HTTP-POST) gets the cookie only
      // with SameSite=None; it is scoped to that directory's callback path and signed, and every
      // other cookie of the bridge keeps SameSite=Lax. (Browsers take None only with Secure.)
      sameSite: connector.callbackMethod === 'POST' && this.secure ? 'none' : 'lax',
      secure: this.secure,
      signed: true,
      maxAge: ttl * 1000,
    });
    return redirect.href;
  }

  /**
   * The transaction this browser started for this directory, taken from the store (once); undefined
   * if none. A transaction this process took within the last minutes is found again by the same
   * browser (its signed handle), so that a callback the store failed under can be reloaded; the
   * caller settles it once its writes are done. `interactionUid` names the login the cookie was for.
   */
  async take(ctx: Context, directoryId: string): Promise<{ pending?: PendingHandoff; hadCookie: boolean; handle?: string; interactionUid?: string }> {
    const cookie = ctx.cookies.get(TXN_COOKIE, { signed: true });
    const [handle, interactionUid] = cookie ? cookie.split('.') : [];
    const known = interactionUid ? { interactionUid } : {};
    if (!handle) return { hadCookie: false };
    let pending = await this.state.take<PendingHandoff>(`txn:${handle}`);
    if (pending) this.taken.set(handle, pending);
    else pending = this.taken.get(handle);
    if (!pending || pending.transaction.directoryId !== directoryId) {
      this.settle(ctx, directoryId);
      return { hadCookie: true, ...known };
    }
    return { pending, hadCookie: true, handle, ...known };
  }

  /** The callback is answered: the browser's cookie goes (the process keeps the transaction for exact repeats). */
  settle(ctx: Context, directoryId: string): void {
    ctx.cookies.set(TXN_COOKIE, null, { path: this.cookiePath(directoryId) });
  }

  /** The callback as the directory made the browser call it: our registered URL with its query, and a posted form. */
  async callbackOf(ctx: Context, pending: PendingHandoff): Promise<CallbackRequest> {
    const url = new URL(pending.transaction.callbackUrl);
    url.search = ctx.querystring;
    if (ctx.method !== 'POST') return { method: 'GET', url, form: {} };
    const form: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(await readFormText(ctx, CALLBACK_FORM_LIMIT_BYTES))) {
      // A protocol field sent twice is ambiguous: refused rather than guessed.
      if (Object.hasOwn(form, key)) throw new FormError(400, `the field ${key} was sent twice`);
      form[key] = value;
    }
    return { method: 'POST', url, form };
  }
}
