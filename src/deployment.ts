import Koa, { type Middleware } from 'koa';
import { createBridge, type AppDependencies, type Bridge } from './app.js';
import type { BridgeConfig } from './config/schema.js';
import { secretsForEnvironment } from './config/secrets.js';
import { basePathOf } from './http/base-path.js';
import { subApp } from './http/compose.js';
import { cookieSigner } from './http/cookie-signer.js';
import { canonicalHost, forwardedHost, isIssuerHost } from './http/forwarded-host.js';
import { mountAt } from './http/mount.js';
import { securityHeaders } from './http/security-headers.js';
import { healthRouter } from './http/health.js';
import { requestLog } from './observability/request-log.js';

interface ServedEnvironment {
  name: BridgeConfig['environment'];
  issuer: string;
  bridge: Bridge;
}

export interface Deployment {
  app: Koa;
  environments: ServedEnvironment[];
}

type EnvironmentSetting = NonNullable<BridgeConfig['environments']>[number];

/** The configuration one environment of a multi-environment deployment runs with. */
function environmentConfig(config: BridgeConfig, environment: EnvironmentSetting): BridgeConfig {
  return {
    ...config,
    environment: environment.name,
    issuer: environment.issuer,
    environments: undefined,
    // The bundled directory serves test users in test and demo users in demo; never in production.
    testDirectory: { ...config.testDirectory, enabled: config.testDirectory.enabled && environment.name !== 'production' },
    attributeTestService: { ...config.attributeTestService, enabled: config.attributeTestService.enabled && environment.name === 'test' },
  };
}

/** Runs `middleware` for requests to this issuer's host (when it names one of its own) and path. */
function servedAt(issuer: string, shareHost: boolean, middleware: Middleware): Middleware {
  const url = new URL(issuer);
  const base = basePathOf(issuer);
  const inner = base ? mountAt(base, middleware) : middleware;
  return async (ctx, next) => {
    if (!shareHost && !isIssuerHost(ctx.host, url)) return next();
    if (base && ctx.path !== base && !ctx.path.startsWith(`${base}/`)) return next();
    await inner(ctx, next);
  };
}

/**
 * One process, one or several MPASSid environments. With `environments` configured, each is a
 * complete bridge with its own issuer, keys, sessions and discovery, at its own path or host; they
 * share the store, and so the registry of services. Without it, the one bridge is the whole app.
 */
export function createDeployment(deps: AppDependencies): Deployment {
  const { config } = deps;
  if (!config.environments) {
    const bridge = createBridge(deps);
    return { app: bridge.app, environments: [{ name: config.environment, issuer: config.issuer, bridge }] };
  }
  const environments = config.environments.map((setting) => ({
    name: setting.name,
    issuer: setting.issuer,
    bridge: createBridge({ ...deps, config: environmentConfig(config, setting), secrets: secretsForEnvironment(deps.secrets, setting.name) }),
  }));
  const hosts = new Set(
    environments.map((e) => {
      const url = new URL(e.issuer);
      return canonicalHost(url.host, url.protocol);
    }),
  );
  const app = new Koa();
  // The environments' cookies are read and written on this app's context.
  app.keys = cookieSigner(deps.secrets.cookieKeys) as unknown as Koa['keys'];
  app.proxy = config.trustProxy;
  app.silent = true;
  // Before anything reads the host: which environment serves a request depends on it.
  app.use(forwardedHost(config.trustForwardedHost));
  // The outermost request log makes the request's reference and logs the full path; the
  // environments' own logs then pass through.
  app.use(requestLog(deps.logger));
  // Also on what this app answers itself (health, the 404 below), not only inside an environment.
  app.use(securityHeaders({ hsts: environments.every((e) => e.issuer.startsWith('https://')) }));
  app.use(healthRouter(deps.storage, deps.stopping).routes());
  // The longest path first, so /test/x never reaches an environment served at /.
  const byPath = [...environments].sort((a, b) => basePathOf(b.issuer).length - basePathOf(a.issuer).length);
  for (const environment of byPath) app.use(servedAt(environment.issuer, hosts.size === 1, subApp(environment.bridge.app)));
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: 'not_found', error_description: 'no MPASSid environment is served here', environments: environments.map((e) => e.issuer) };
  });
  return { app, environments };
}
