import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import Provider, { type Configuration } from 'oidc-provider';
import { subApp } from '../src/http/compose.js';
import { cookieSigner } from '../src/http/cookie-signer.js';
import type { PrivateJwks } from '../src/config/secrets.js';
import type { AdapterFactory } from '../src/storage/types.js';

export interface BareProviderHandle {
  issuer: string;
  stop(): Promise<void>;
}

/**
 * The baseline: the same oidc-provider with the same storage, keys and protocol settings as the
 * bridge, but its interaction signs a fixed user in at once and grants consent (no directory).
 */
export async function startBareProvider(options: {
  adapter: AdapterFactory;
  jwks: PrivateJwks;
  cookieKeys: string[];
  client: { client_id: string; client_secret: string; redirect_uris: string[] };
}): Promise<BareProviderHandle> {
  const server: Server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    adapter: options.adapter,
    clients: [{ ...options.client, grant_types: ['authorization_code'], response_types: ['code'] }],
    jwks: options.jwks as Configuration['jwks'],
    cookies: { keys: cookieSigner(options.cookieKeys) as unknown as string[] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: ['given_name', 'family_name'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, resourceIndicators: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The bridge's default lifetimes (explicit, as in the bridge, so oidc-provider prints no notices).
    ttl: { Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub, given_name: 'Bench', family_name: 'User' }) };
    },
  } as Configuration);

  const router = new Router();
  router.get('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const grant = new provider.Grant({ accountId: 'bench-user', clientId: String(details.params.client_id) });
    grant.addOIDCScope('openid profile');
    const grantId = await grant.save();
    const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: 'bench-user' }, consent: { grantId } });
    ctx.status = 303;
    ctx.redirect(to);
  });
  const app = new Koa();
  app.keys = cookieSigner(options.cookieKeys) as unknown as Koa['keys'];
  app.silent = true;
  app.use(router.routes());
  app.use(subApp(provider));
  server.on('request', app.callback());
  return {
    issuer,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
