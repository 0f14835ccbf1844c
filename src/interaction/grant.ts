import type { LoginContext } from './context.js';

/**
 * MPASSid services rely on the federation's own approval, so consent is granted without a page.
 * Undefined when the service no longer exists here (e.g. an operator suspended it mid-login).
 */
export async function grantFor(
  { provider, accounts }: LoginContext,
  accountId: string,
  clientId: string,
  scope: string,
  existingGrantId?: string,
): Promise<string | undefined> {
  const client = await provider.Client.find(clientId);
  if (!client) return undefined;
  const existing = existingGrantId ? await provider.Grant.find(existingGrantId) : undefined;
  const grant = existing && existing.accountId === accountId && existing.clientId === clientId ? existing : new provider.Grant({ accountId, clientId });
  // The grant's lifetime depends on the client (ttl.Grant): outside an oidc-provider request the
  // grant itself is the only way to hand it over.
  grant.client = client;
  grant.addOIDCScope(
    scope
      .split(' ')
      .filter((s) => s === 'openid' || s === 'profile')
      .join(' '),
  );
  const expiresAt = Math.floor(Date.now() / 1000) + grant.remainingTTL;
  // Everything the grant issues reads the account snapshot, and nothing of it works past the grant
  // (oidc-provider checks the grant at token and userinfo): keep the snapshot as long as the grant.
  // The two writes leave together (one round trip); a failure of either fails the step, which repeats.
  const [grantId] = await Promise.all([grant.save(), accounts.keepUntil(accountId, expiresAt + 60)]);
  return grantId;
}
