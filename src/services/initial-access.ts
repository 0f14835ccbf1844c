import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { DurableStore } from '../storage/types.js';

/** The registration policy every initial access token carries (see create-provider.ts). */
export const REGISTRATION_POLICY = 'mpassid';

export const MAX_USES = 100;

/**
 * Initial access tokens (RFC 7591 §3) are oidc-provider InitialAccessToken records, issued only by
 * operators. A token may register `uses` services (default 1): at issue time one "use slot" per
 * allowed registration is stored (`iatUse:<jti>:<n>`, expiring with the token); each successful
 * registration takes one slot with an atomic read-and-delete, so two concurrent registrations can
 * never both spend the last use, and every operation touches one key (Redis Cluster safe).
 */
export class InitialAccessTokens {
  constructor(private readonly store: DurableStore) {}

  async issue(provider: Provider, expiresInSeconds: number, uses: number): Promise<{ token: string; expiresAt: string; uses: number; id: string }> {
    const iat = new provider.InitialAccessToken({ expiresIn: expiresInSeconds, policies: [REGISTRATION_POLICY] });
    const token = await iat.save();
    const id = iat.jti;
    await this.store.put(`iatUses:${id}`, uses, expiresInSeconds);
    await Promise.all(Array.from({ length: uses }, (_, n) => this.store.put(`iatUse:${id}:${n}`, 1, expiresInSeconds)));
    return { token, id, uses, expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString() };
  }

  /** Spends one use of the token the registration request carries; refused when none is left. */
  async spend(ctx: KoaContextWithOIDC): Promise<void> {
    const iat = ctx.oidc.entities.InitialAccessToken;
    if (!iat) throw new errors.InvalidToken('initial access token required');
    const uses = (await this.store.get<number>(`iatUses:${iat.jti}`)) ?? 0;
    for (let n = 0; n < uses; n += 1) {
      if ((await this.store.take(`iatUse:${iat.jti}:${n}`)) !== undefined) return;
    }
    throw new errors.InvalidToken('initial access token has already been used');
  }
}
