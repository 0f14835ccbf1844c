/**
 * The baseline of the login benchmark, run in a process of its own:
 *
 *   node --import tsx bench/bare-provider.ts --port 0 [--redis-url redis://…] [--alg RS256|ES256]
 *
 * The same oidc-provider as the bridge's, over the bridge's own storage (Redis or process memory,
 * the same adapter), with the same protocol settings (code flow, PKCE, the bridge's lifetimes), but its
 * interaction signs a fixed user in at once and grants consent in one step (no directory, no claims
 * step, no request log). ID tokens are signed with oidc-provider's default RS256 unless `--alg` says
 * otherwise. `GET /metrics` answers the process's Prometheus metrics (the store's command count among
 * them) so the driver counts this side's store commands the way it counts the bridge's. On start it
 * prints one JSON line `{ "issuer": ... }`; it stops when its parent closes stdin (or on SIGTERM).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import Router from '@koa/router';
import Provider, { type Configuration } from 'oidc-provider';
import { parseConfig } from '../src/config/load.js';
import { generateSigningKeys } from '../src/config/secrets.js';
import { subApp } from '../src/http/compose.js';
import { cookieSigner } from '../src/http/cookie-signer.js';
import { metricsRegistry } from '../src/observability/metrics.js';
import { createStorage, waitUntilAvailable } from '../src/storage/index.js';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'redis-url': { type: 'string' },
    alg: { type: 'string', default: 'RS256' },
    'client-id': { type: 'string', default: 'bench-service' },
    'client-secret': { type: 'string', default: 'bench-service-secret-0123456789' },
    'redirect-uri': { type: 'string', default: 'http://127.0.0.1:9/callback' },
  },
});

const storage = createStorage(
  parseConfig({ redis: opts['redis-url'] ? { url: opts['redis-url'], keyPrefix: 'bench-bare:' } : { keyPrefix: 'bench-bare:' } }).redis,
);
if (!(await waitUntilAvailable(storage, 10_000))) throw new Error('the store did not become available');
const cookieKeys = cookieSigner([randomBytes(32).toString('base64url')]) as unknown as string[];
const jwks = await generateSigningKeys();

const server: Server = createServer();
await new Promise<void>((done) => server.listen(Number(opts.port), '127.0.0.1', done));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const provider = new Provider(issuer, {
  adapter: storage.adapterFactory('op'),
  clients: [
    {
      client_id: opts['client-id'],
      client_secret: opts['client-secret'],
      redirect_uris: [opts['redirect-uri']],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: opts.alg,
    },
  ],
  jwks: jwks as Configuration['jwks'],
  cookies: { keys: cookieKeys },
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
router.get('/metrics', async (ctx) => {
  ctx.type = metricsRegistry.contentType;
  ctx.body = await metricsRegistry.metrics();
});
const app = new Koa();
app.keys = cookieKeys;
app.silent = true;
app.use(router.routes());
app.use(subApp(provider));
server.on('request', app.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);

const stop = (): void => {
  server.closeAllConnections();
  server.close(() => void storage.close().finally(() => process.exit(0)));
};
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);
