import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import type Provider from 'oidc-provider';
import { AccountStore } from './accounts/accounts.js';
import { ATTRIBUTE_TEST_CLIENT_ID, attributeTestClient, createAttributeTestRouter } from './attributetest/routes.js';
import { ConfigError, environmentValue } from './config/load.js';
import type { BridgeConfig } from './config/schema.js';
import { configuredDirectorySchema, type ConfiguredDirectory } from './directories/definition.js';
import { environmentSubjectSalt, type BridgeSecrets } from './config/secrets.js';
import { subApp } from './http/compose.js';
import { basePathOf, underIssuer } from './http/base-path.js';
import { cookieSigner } from './http/cookie-signer.js';
import { errorBoundary, storeUnavailable } from './http/errors.js';
import { forwardedHost } from './http/forwarded-host.js';
import { mountAt } from './http/mount.js';
import { securityHeaders } from './http/security-headers.js';
import { createViews, staticAssets } from './http/views.js';
import { createInteractionRouter } from './interaction/routes.js';
import { straightToDirectory } from './interaction/start.js';
import { PageRenderer } from './http/pages.js';
import { healthRouter } from './http/health.js';
import type { Logger } from './observability/logger.js';
import { requestLog } from './observability/request-log.js';
import { metricsEndpoint } from './observability/metrics-route.js';
import { createProvider, providerCookieNames } from './provider/create-provider.js';
import { withRequestContext } from './provider/client-resolution.js';
import { retrySafe } from './provider/retry-safe.js';
import { authorizationPost } from './provider/authorization-post.js';
import { directoryAcrValues } from './provider/acr.js';
import { ServiceRegistry, withServiceReads } from './services/registry.js';
import { configuredServices } from './services/configured.js';
import { ReleaseGate } from './provider/release-gate.js';
import { configuredDirectories } from './directories/configured.js';
import { createAdminApi, onPublicListener } from './admin/api.js';
import { InitialAccessTokens } from './services/initial-access.js';
import { ClaimsEvaluator } from './claims/evaluate.js';
import { RoleVocabulary } from './claims/roles.js';
import { createOrganisationRegistry, type OrganisationRegistry } from './organisations/index.js';
import type { AdapterFactory, Storage } from './storage/types.js';
import { createTestDirectory } from './testdirectory/index.js';
import { BUNDLED_SIMULATOR_IDS, bundledSimulatorDirectories, bundledSimulators } from './testdirectory/bundled.js';
import type { TestUser } from './testdirectory/users.js';
import { openDirectory } from './directories/connectors/index.js';
import type { ConnectorOptions } from './directories/connectors/options.js';
import { typeNeedsSecret, type DirectoryDefinition } from './directories/definition.js';
import { DirectoryCatalogue } from './directories/catalogue.js';
import { DirectoryRecords } from './directories/records.js';
import { SecretBox } from './directories/secret-box.js';
import { DirectoryHandoff } from './directories/handoff.js';
import { DirectoryHealthMonitor } from './directories/health.js';
import { CheckLinks } from './directories/check/links.js';
import { createDirectoryCheck } from './directories/check/routes.js';
import { SchoolNames } from './directories/school-names.js';
import { createSamlMetadataRouter } from './directories/connectors/saml/routes.js';

export interface AppDependencies {
  config: BridgeConfig;
  secrets: BridgeSecrets;
  storage: Storage;
  logger: Logger;
  /** Catalogue of the bundled test directory (when it is enabled). */
  testUsers?: TestUser[];
  /** Catalogue of the bundled directory in the demo environment. */
  demoUsers?: TestUser[];
  /** The organisation registry; built from configuration when absent. */
  organisations?: OrganisationRegistry;
  /** True once the process is stopping (readiness then answers 503 while requests are still served). */
  stopping?: () => boolean;
}

export interface Bridge {
  app: Koa;
  /** The configuration this bridge runs with (one environment's, in a multi-environment deployment). */
  config: BridgeConfig;
  provider: Provider;
  catalogue: DirectoryCatalogue;
  /** Lifecycle and operator settings of the services. */
  registry: ServiceRegistry;
  /** The directories operators manage at run time. */
  directories: DirectoryRecords;
  /** Background checks of the directories (started by `start`, stopped by `stop`). */
  health: DirectoryHealthMonitor;
  /** The admin API: mounted in `app`, or only on the admin listener when `admin.port` is set (see admin/listener.ts). */
  admin: Middleware;
}

/** The client id under which the bridge signs in at its own bundled test directory. */
const TEST_DIRECTORY_CLIENT_ID = 'mpassid-bridge';

function testDirectoryDefinition(config: BridgeConfig, secrets: BridgeSecrets): Extract<ConfiguredDirectory, { type: 'oidc' }> & { clientSecret: string } {
  return {
    ...(configuredDirectorySchema.parse({
      type: 'oidc',
      id: config.testDirectory.upstreamId,
      displayName:
        config.environment === 'demo'
          ? { fi: 'Mansikkalan demokoulu', sv: 'Mansikkala demoskola', en: 'Mansikkala demo school' }
          : { fi: 'Mansikkalan testikoulu', sv: 'Mansikkala testskola', en: 'Mansikkala test school' },
      issuer: underIssuer(config.issuer, config.testDirectory.path),
      clientId: TEST_DIRECTORY_CLIENT_ID,
      accounts: config.environment === 'demo' ? 'demo' : 'test',
    }) as Extract<ConfiguredDirectory, { type: 'oidc' }>),
    clientSecret: secrets.testDirectory.clientSecret,
  };
}

/** Services (and their registration tokens) are shared by every environment; all else is the environment's own. */
const SHARED_MODELS = new Set(['Client', 'RegistrationAccessToken', 'InitialAccessToken']);

function environmentAdapter(storage: Storage, environment: BridgeConfig['environment'], registry: ServiceRegistry): AdapterFactory {
  const shared = storage.adapterFactory('op');
  const own = storage.adapterFactory(`op-${environment}`);
  return (model) => {
    if (model === 'Client') return registry.tracking(shared(model), environment);
    return SHARED_MODELS.has(model) ? shared(model) : own(model);
  };
}

function configuredSecret(upstream: ConfiguredDirectory, env: Record<string, string | undefined>): string | undefined {
  // The variable, or a file (a container secret) named by <NAME>_FILE.
  return environmentValue(env, `UPSTREAM_${upstream.id.toUpperCase().replace(/-/g, '_')}_CLIENT_SECRET`) ?? upstream.clientSecret;
}

/**
 * Builds the whole bridge as a Koa app, in the order its parts depend on each other: directories,
 * services, the claims step, the provider, then the routes in the order a request meets them. No
 * I/O happens here beyond what the dependencies do; listening is the caller's business.
 */
export function createBridge(deps: AppDependencies, env: Record<string, string | undefined> = process.env): Bridge {
  const { config, storage, logger } = deps;
  // Subjects, account ids and uids are keyed per environment: nothing correlates a child across them.
  const secrets = { ...deps.secrets, subjectSalt: environmentSubjectSalt(deps.secrets.subjectSalt, config.environment) };
  const pages = new PageRenderer(createViews(), logger, basePathOf(config.issuer));
  // Environments sharing one store share the registry of services, nothing else: sessions, grants,
  // tokens, accounts and logins in progress of the test environment never reach production.
  const environment = config.environment;
  const state = storage.state(`bridge-${environment}`);
  // A login keeps the snapshot for its SSO session; each grant then keeps it as long as it needs.
  const accounts = new AccountStore(state, config.ttl.sessionSeconds + 60);

  const { directories, catalogue } = directoriesOf(config, secrets, storage, logger, env);
  const { clients, registry, initialAccessTokens } = servicesOf(config, secrets, storage);
  const organisations = deps.organisations ?? organisationRegistryOf(config, storage, logger);
  const claims = new ClaimsEvaluator(organisations, new RoleVocabulary(config.roles), secrets.subjectSalt, logger);
  const release = new ReleaseGate(registry, catalogue, environment);
  const handoff = new DirectoryHandoff(config, state);
  const provider = createProvider({
    directStart: straightToDirectory({ catalogue, handoff, config, interactionCookie: providerCookieNames(environment).interaction }),
    config,
    secrets,
    adapter: environmentAdapter(storage, environment, registry),
    accounts,
    release,
    catalogue,
    clients,
    pages,
    logger,
    registry,
    initialAccessTokens,
  });
  const health = directoryHealthOf(config, catalogue, logger);
  const checkLinks = new CheckLinks(storage.durable('registry'));
  const directoryCheck = createDirectoryCheck({ config, catalogue, directories, links: checkLinks, claims, handoff, pages, logger, state });
  const interactions = createInteractionRouter({
    release,
    provider,
    config,
    subjectSalt: secrets.subjectSalt,
    catalogue,
    claims,
    state,
    accounts,
    pages,
    logger,
    handoff,
    completeCheck: directoryCheck.complete,
    isUnavailable: (id) => health.isDown(id),
    schoolNames: new SchoolNames(organisations),
  });
  const admin = createAdminApi({ config, provider, registry, initialAccessTokens, storage, logger, directories, catalogue, health, checkLinks });

  const app = new Koa();
  // Cookies of the provider and of our routes are signed with the same keys.
  app.keys = cookieSigner(secrets.cookieKeys) as unknown as Koa['keys'];
  app.proxy = config.trustProxy;
  // Koa would print errors to stderr; the error boundary logs them (redacted) instead.
  app.silent = true;

  // In the order a request meets them.
  app.use(forwardedHost(config.trustForwardedHost));
  app.use(requestLog(logger));
  app.use(errorBoundary(pages, logger));
  app.use(securityHeaders({ hsts: config.issuer.startsWith('https://') }));
  app.use(healthRouter(storage, deps.stopping).routes());
  app.use(metricsEndpoint({ token: config.metrics.token }));
  app.use(infrastructureRoutes(config).routes());
  // Fail fast while the store is down: nothing below can work without it.
  app.use(async (ctx, next) => {
    if (!storage.isAvailable()) {
      storeUnavailable(ctx, pages);
      return;
    }
    await next();
  });
  // A request reads its service's record once, however many steps ask (client resolution, release).
  app.use((_ctx, next) => withServiceReads(next));
  for (const testDirectory of testDirectoriesOf(deps, secrets)) app.use(testDirectory);
  if (config.attributeTestService.enabled) {
    app.use(createAttributeTestRouter({ config, clientSecret: secrets.attributeTestService.clientSecret, accounts, state, pages, logger }).routes());
  }
  app.use(directoryCheck.router.routes());
  app.use(interactions.routes());
  app.use(createSamlMetadataRouter(catalogue).routes());
  app.use(onPublicListener(config, admin));
  app.use(authorizationPost());
  app.use(directoryAcrValues(async () => (await catalogue.list()).map((c) => c.id)));
  app.use(withRequestContext(retrySafe(subApp(provider))));

  return { app, config, provider, catalogue, registry, directories, health, admin };
}

/**
 * The directories of the configuration file (with the bundled test ones when the test directory is
 * on), each with its secret from the environment or the file. Throws ConfigError for a missing secret.
 */
function directoriesOfTheFile(config: BridgeConfig, secrets: BridgeSecrets, env: Record<string, string | undefined>) {
  const configured: Array<{ definition: DirectoryDefinition; secret: string | undefined }> = [];
  const missingSecrets: string[] = [];
  const bundled = config.testDirectory.enabled ? [testDirectoryDefinition(config, secrets), ...bundledSimulatorDirectories(config, secrets)] : [];
  const fromFile = configuredDirectories(config);
  [...bundled, ...fromFile].forEach((entry, index) => {
    // Test directories are reachable only from the test environment.
    if (entry.testOnly && config.environment !== 'test') return;
    const { clientSecret: _inFile, testOnly, ...definition } = entry;
    const secret = configuredSecret(entry, env);
    if (typeNeedsSecret(entry.type) && !secret) {
      missingSecrets.push(`upstreams.${index - bundled.length}.clientSecret: required (or set UPSTREAM_<ID>_CLIENT_SECRET)`);
    } else {
      configured.push({ definition: { ...definition, accounts: testOnly ? 'test' : definition.accounts }, secret });
    }
  });
  if (missingSecrets.length) throw new ConfigError(missingSecrets);
  return configured;
}

/** The directories' records (operator-managed) and the catalogue of those this environment offers. */
function directoriesOf(config: BridgeConfig, secrets: BridgeSecrets, storage: Storage, logger: Logger, env: Record<string, string | undefined>) {
  const connectorOptions: ConnectorOptions = {
    timeoutMs: config.upstreamHttp.timeoutMs,
    clockToleranceSeconds: config.upstreamHttp.clockToleranceSeconds,
    allowHttp: config.env !== 'production',
    // One-time values directories send are refused a second time in every environment and instance.
    replay: storage.state('directory-replay'),
    issuer: config.issuer,
    samlKeys: secrets.saml,
  };
  const directories = new DirectoryRecords(
    storage.durable('registry'),
    new SecretBox(secrets.directoryKeys),
    // Ids of the file's directories are never given to operator-managed ones.
    new Set([...config.upstreams.map((u) => u.id), config.testDirectory.upstreamId, ...BUNDLED_SIMULATOR_IDS]),
  );
  const catalogue = new DirectoryCatalogue(
    directoriesOfTheFile(config, secrets, env).map(({ definition, secret }) => openDirectory(definition, secret, connectorOptions)),
    {
      environment: config.environment,
      directories,
      directoryFor: (record, secret) => openDirectory(record.definition, secret, connectorOptions),
      refreshIntervalMs: config.directories.refreshIntervalMs,
      logger,
    },
  );
  return { directories, catalogue };
}

/** The services: the file's (with the attribute test service) count as approved; registered ones are stored. */
function servicesOf(config: BridgeConfig, secrets: BridgeSecrets, storage: Storage) {
  const { clients, policies } = configuredServices(config);
  if (config.attributeTestService.enabled && !clients.some((c) => c.client_id === ATTRIBUTE_TEST_CLIENT_ID)) {
    clients.push(attributeTestClient(config.issuer, secrets.attributeTestService.clientSecret));
    // The attribute test service exists to show every case, test learner numbers included.
    policies.push([ATTRIBUTE_TEST_CLIENT_ID, { allowTestLearnerIds: true }]);
  }
  const registry = new ServiceRegistry(storage.durable('registry'), policies, storage.adapterFactory('op')('Client'));
  return { clients, registry, initialAccessTokens: new InitialAccessTokens(storage.durable('registry')) };
}

function organisationRegistryOf(config: BridgeConfig, storage: Storage, logger: Logger): OrganisationRegistry {
  return createOrganisationRegistry(config.organisations, {
    // Organisation data, not personal data: one cache for every instance and environment.
    shared: storage.state('organisations'),
    onOutage: (err) =>
      logger.warn({ reason: err.reason }, 'organisation registry unavailable: serving cached answers past their TTL, asking again in the background'),
  });
}

/** Health checks of every directory in the catalogue (started by the caller). */
function directoryHealthOf(config: BridgeConfig, catalogue: DirectoryCatalogue, logger: Logger): DirectoryHealthMonitor {
  return new DirectoryHealthMonitor({
    targets: async () =>
      (await catalogue.all()).map(({ directory }) => {
        const check = directory.connector.checkHealth?.bind(directory.connector);
        return { id: directory.id, issuer: directory.listing.issuer, ...(check ? { check } : {}) };
      }),
    intervalMs: config.directories.healthCheckIntervalSeconds * 1000,
    timeoutMs: config.upstreamHttp.timeoutMs,
    allowHttp: config.env !== 'production',
    logger,
  });
}

/** Static assets and the front page. */
function infrastructureRoutes(config: BridgeConfig): Router {
  const routes = new Router();
  for (const asset of staticAssets()) {
    routes.get(`/static/${asset.name}`, (ctx) => {
      ctx.type = asset.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = asset.body;
    });
  }
  routes.get('/', (ctx) => {
    ctx.redirect(`${basePathOf(config.issuer)}${config.attributeTestService.enabled ? '/attribute-test' : '/.well-known/openid-configuration'}`);
  });
  return routes;
}

/** The bundled test directories this environment serves: the OIDC test school, and the Opinsys and Wilma simulators. */
function testDirectoriesOf(deps: AppDependencies, secrets: BridgeSecrets): Koa.Middleware[] {
  const { config, storage } = deps;
  const served: Koa.Middleware[] = [];
  if (config.testDirectory.enabled) {
    const definition = testDirectoryDefinition(config, secrets);
    const directory = createTestDirectory({
      issuer: definition.issuer,
      clients: [
        {
          client_id: TEST_DIRECTORY_CLIENT_ID,
          client_secret: secrets.testDirectory.clientSecret,
          redirect_uris: [underIssuer(config.issuer, `/upstream/${definition.id}/callback`)],
        },
      ],
      users: (config.environment === 'demo' ? deps.demoUsers : deps.testUsers) ?? [],
      schoolName: definition.displayName,
      jwks: secrets.testDirectory.jwks,
      cookieKeys: secrets.cookieKeys,
      adapter: storage.adapterFactory(`testdir-${config.environment}`),
      secureCookies: config.issuer.startsWith('https://'),
    });
    served.push(mountAt(config.testDirectory.path, directory.middleware));
  }
  served.push(...bundledSimulators(config, secrets, deps.testUsers ?? []));
  return served;
}
