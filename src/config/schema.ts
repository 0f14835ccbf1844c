import { z } from 'zod';
import { ENVIRONMENTS } from './common.js';
import { organisationRegistrySchema } from './organisations.js';
import { DEFAULT_ROLES, roleSchema } from './roles.js';

export {
  type DirectoryAccounts,
  type LocalizedText,
} from './common.js';

/**
 * The single source of every setting and its default. Each key is described here; the README's
 * configuration reference is written from this file. Secrets (keys, client secrets) are never
 * defaulted: in development they are generated once into `secrets.file` (see `config/load.ts`).
 */

/**
 * A school directory of the configuration file, as far as this file knows it: its settings depend on
 * its type, which the directories own (each connector's settings beside it). The whole entry is
 * checked when the bridge starts, with the same `upstreams.<n>.<field>` paths as every other setting.
 */
const configuredDirectoryEntry = z.looseObject({
  id: z.string().min(1).describe('Stable id of the directory'),
  type: z.string().optional().describe('oidc (default), wilma, opinsys or saml'),
  testOnly: z.boolean().optional().describe('Same as `accounts: "test"`'),
});

const hostPort = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict();

/** A PEM key pair given as files (the SAML service-provider keys). */
const samlKeyFiles = z
  .object({
    keyFile: z.string().min(1).describe('PEM private key (RSA)'),
    certFile: z.string().min(1).describe('PEM certificate of that key (self-signed is fine: SAML trusts the published certificate, not a CA)'),
  })
  .strict();

const redisSchema = z
  .object({
    mode: z
      .enum(['single', 'sentinel', 'cluster'])
      .default('single')
      .describe('single: one server at `url`; sentinel: `sentinels` + `sentinelName`; cluster: `nodes`'),
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional()
      .describe('Server URL for mode "single" (env REDIS_URL). Without it the bridge keeps state in process memory.'),
    sentinels: z.array(hostPort).min(1).optional().describe('Sentinel addresses for mode "sentinel"'),
    sentinelName: z.string().min(1).optional().describe('Monitored master name for mode "sentinel"'),
    nodes: z.array(hostPort).min(1).optional().describe('Seed nodes for mode "cluster"'),
    username: z.string().optional().describe('ACL user for sentinel/cluster modes (single mode: put it in the URL)'),
    password: z.string().optional().describe('Password for sentinel/cluster modes (single mode: put it in the URL)'),
    tls: z.boolean().default(false).describe('Use TLS for sentinel/cluster connections'),
    keyPrefix: z.string().default('mpassid:').describe('Prefix of every key; lets several deployments share one Redis'),
    commandTimeoutMs: z.number().int().positive().default(1500).describe('A command not answered in this time fails (the request gets 503 instead of hanging)'),
    connectTimeoutMs: z.number().int().positive().default(2000).describe('Connection attempt timeout'),
    allowWithoutPersistence: z
      .boolean()
      .default(false)
      .describe(
        "Production refuses to start on a Redis without AOF (appendonly yes) or with a maxmemory-policy that evicts keys: the federation's records live there. Set only when persistence is assured another way (e.g. a managed Redis that refuses CONFIG is accepted with a warning anyway)",
      ),
  })
  .strict()
  .superRefine((redis, ctx) => {
    if (redis.mode === 'sentinel' && (!redis.sentinels || !redis.sentinelName)) {
      ctx.addIssue({ code: 'custom', message: 'mode "sentinel" needs `sentinels` and `sentinelName`', path: ['sentinels'] });
    }
    if (redis.mode === 'cluster' && !redis.nodes) {
      ctx.addIssue({ code: 'custom', message: 'mode "cluster" needs `nodes`', path: ['nodes'] });
    }
  });
export type RedisConfig = z.infer<typeof redisSchema>;

const staticClientSchema = z
  .object({
    client_id: z.string().min(1),
    client_secret: z.string().min(16).optional(),
    client_name: z.string().min(1).optional(),
    redirect_uris: z.array(z.url()).min(1),
    post_logout_redirect_uris: z.array(z.url()).optional(),
    token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']).default('client_secret_basic'),
    application_type: z.enum(['web', 'native']).default('web'),
    backchannel_logout_uri: z.url().optional(),
    // The registration default (OIDC Registration 2): a configured service that names no algorithm
    // gets RS256, as before ES256 keys were added; registered services are told theirs in the response.
    id_token_signed_response_alg: z.enum(['RS256', 'ES256']).default('RS256'),
    jwks: z
      .object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) })
      .optional()
      .describe('Public keys of a private_key_jwt service'),
    jwks_uri: z.url().optional().describe('Where a private_key_jwt service publishes its public keys'),
    subject_type: z
      .enum(['pairwise', 'public'])
      .default('pairwise')
      .describe('pairwise (default): a sub of its own for this service; public: the same sub as other public services'),
    allowTestLearnerIds: z.boolean().default(false).describe('Accept test learner numbers (1.2.246.562.98.*) for this client'),
    releasedClaims: z
      .array(z.string().min(1))
      .optional()
      .describe('MPASSid claims released to this client (default: every profile claim); each must be a claim the bridge releases'),
  })
  .strict()
  .superRefine((client, ctx) => {
    if (client.token_endpoint_auth_method === 'private_key_jwt' && !client.jwks && !client.jwks_uri) {
      ctx.addIssue({ code: 'custom', path: ['jwks'], message: "private_key_jwt needs the service's public keys: jwks or jwks_uri" });
    }
    if (client.token_endpoint_auth_method !== 'none' && client.token_endpoint_auth_method !== 'private_key_jwt' && !client.client_secret) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: `${client.token_endpoint_auth_method} needs a client_secret` });
    }
  })
  .describe('A statically configured relying party (services normally register dynamically)');

export const configSchema = z
  .object({
    env: z.enum(['development', 'test', 'production']).default('development').describe('NODE_ENV. production refuses development defaults'),
    environment: z
      .enum(['test', 'demo', 'production'])
      .default('test')
      .describe(
        'MPASSid environment this deployment serves (env MPASSID_ENVIRONMENT): test admits every registered service that is not rejected or suspended, and offers only directories of test accounts; demo admits services published to demo and offers demo directories; production admits only approved services and offers only approved directories of real accounts. Independent of NODE_ENV',
      ),
    environments: z
      .array(
        z
          .object({
            name: z.enum(ENVIRONMENTS).describe('The MPASSid environment'),
            issuer: z.url().describe('Its issuer: a path on the shared host (https://mpassid.example/test) or a host of its own'),
            jwksFile: z.string().optional().describe('Its own signing keys (private JWKS file); required in production, generated in development'),
          })
          .strict(),
      )
      .min(1)
      .optional()
      .describe(
        'Serve several environments from one process, each a separate issuer (own keys, sessions, discovery) sharing the registry of services. Without it the process serves `environment` at `issuer`',
      ),
    port: z.number().int().min(0).max(65535).default(3000).describe('HTTP port (env PORT)'),
    host: z.string().default('0.0.0.0').describe('Listen address (env HOST)'),
    issuer: z
      .url()
      .default('http://localhost:3000')
      .describe('Public issuer URL of the bridge (env ISSUER); https in production. Without it: http://localhost:<port>'),
    shutdownDrainSeconds: z
      .number()
      .int()
      .min(0)
      .max(120)
      .default(2)
      .describe(
        'On SIGTERM, how long the bridge goes on serving while /readyz answers 503 (a load balancer that checks readiness then sends it nothing new), before it stops listening and finishes what it accepted',
      ),
    trustProxy: z.boolean().default(false).describe('Trust X-Forwarded-Proto/-For from a TLS-terminating reverse proxy (env TRUST_PROXY=true)'),
    trustForwardedHost: z
      .boolean()
      .default(false)
      .describe(
        'With trustProxy: also take the host from X-Forwarded-Host (it then chooses the environment of a multi-environment deployment and the host of URLs the bridge builds). Set only when the proxy overwrites that header; otherwise the Host header decides (env TRUST_FORWARDED_HOST=true)',
      ),
    secrets: z
      .object({
        file: z.string().default('.local/dev-secrets.json').describe('Development only: generated signing keys and cookie secrets are kept here (git-ignored)'),
        jwksFile: z.string().optional().describe('Private JWKS file (JSON {"keys":[...]}) for token signing (env JWKS_FILE); required in production'),
        cookieKeys: z
          .array(z.string().min(32))
          .optional()
          .describe('Cookie signing keys, newest first (env COOKIE_KEYS, comma-separated); required in production'),
        subjectSalt: z
          .string()
          .min(32)
          .optional()
          .describe('Secret for account ids and pairwise subjects (env SUBJECT_SALT); required in production; never change it'),
        directoryKeys: z
          .array(z.string().regex(/^[A-Za-z0-9_-]{43}=?$/, '32 random bytes, base64url (e.g. `openssl rand -base64 32 | tr +/ -_`)'))
          .min(1)
          .optional()
          .describe(
            'Keys that seal the client secrets of directories added through the admin API, newest first (env DIRECTORY_KEYS, comma-separated); required in production when operators are configured',
          ),
        samlSigningKeys: z
          .array(samlKeyFiles)
          .min(1)
          .optional()
          .describe(
            'The SAML service-provider signing keys (AuthnRequests), newest first: the first signs, all are published in the SP metadata (rollover). Each {keyFile, certFile}: PEM RSA private key and its certificate. Required in production when SAML directories can be used (a SAML directory, or operators); generated in development',
          ),
        samlEncryptionKeys: z
          .array(samlKeyFiles)
          .min(1)
          .optional()
          .describe(
            'The SAML service-provider encryption keys (assertions are encrypted to them), newest first: all are published and tried for decryption (rollover). Same form and rule as samlSigningKeys',
          ),
      })
      .strict()
      .prefault({}),
    redis: redisSchema.prefault({}),
    ttl: z
      .object({
        sessionSeconds: z
          .number()
          .int()
          .positive()
          .default(3600)
          .describe('SSO session lifetime, absolute: counted from the login, not extended by use (classroom devices are shared)'),
        grantSeconds: z
          .number()
          .int()
          .positive()
          .default(3600)
          .describe('Grant lifetime; a service allowed refresh tokens gets grants of refreshTokenSeconds + authorizationCodeSeconds'),
        interactionSeconds: z.number().int().positive().default(600).describe('Time to finish a login'),
        authorizationCodeSeconds: z.number().int().positive().default(60).describe('Authorization code lifetime'),
        accessTokenSeconds: z.number().int().positive().default(600).describe('Access token lifetime'),
        refreshTokenSeconds: z
          .number()
          .int()
          .positive()
          .max(86_400)
          .default(28_800)
          .describe(
            'Refresh token lifetime (a school day) counted from the login: rotated on every use, the successor keeps the time left; only for services operators allowed refresh tokens; at most a day',
          ),
        idTokenSeconds: z.number().int().positive().default(600).describe('ID token lifetime'),
        upstreamTransactionSeconds: z
          .number()
          .int()
          .positive()
          .default(600)
          .describe('Time the user has at the school directory before the login must be restarted'),
      })
      .strict()
      .prefault({}),
    upstreamHttp: z
      .object({
        timeoutMs: z.number().int().positive().default(5000).describe('Timeout of each call to a school directory'),
        clockToleranceSeconds: z.number().int().min(0).max(60).default(5).describe('Clock skew accepted in directory ID tokens'),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        token: z
          .string()
          .min(32)
          .optional()
          .describe(
            'Bearer token for GET /metrics on the public listener (env METRICS_TOKEN); without it /metrics is served only on the admin listener (admin.port), which needs none',
          ),
      })
      .strict()
      .prefault({}),
    outbound: z
      .object({
        allowLoopback: z
          .boolean()
          .default(false)
          .describe(
            'Development and tests only (refused in production): the provider may call loopback and other special-use addresses (back-channel logout, client JWKS), and services in the test environment may register http loopback back-channel logout URIs',
          ),
      })
      .strict()
      .prefault({}),
    upstreams: z
      .array(configuredDirectoryEntry)
      .default([])
      .describe(
        "School directories of the configuration file (any type: oidc, wilma, opinsys, saml); operators add more through the admin API. Each entry is checked against its type's settings at start (directories/configured.ts)",
      ),
    directories: z
      .object({
        refreshIntervalMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(2000)
          .describe('How often an instance checks whether operators changed the directories (their change reaches every instance within this time)'),
        healthCheckIntervalSeconds: z
          .number()
          .int()
          .min(0)
          .max(3600)
          .default(60)
          .describe("How often each directory's discovery document and keys are fetched to see that it is up; 0 turns the checks off"),
        checkLinkTtlSeconds: z
          .number()
          .int()
          .positive()
          .max(30 * 24 * 3600)
          .default(7 * 24 * 3600)
          .describe('Default validity of an attribute check link issued to a school administrator'),
      })
      .strict()
      .prefault({}),
    testDirectory: z
      .object({
        enabled: z.boolean().default(true).describe('Serve the bundled test school directory (refused in production)'),
        path: z
          .string()
          .regex(/^\/[a-z0-9-]+$/)
          .default('/test-directory')
          .describe('Path under the issuer host'),
        usersFile: z.string().default('config/test-users.json').describe('Catalogue of test users'),
        demoUsersFile: z.string().default('config/demo-users.json').describe('Catalogue of demo users (the directory of the demo environment)'),
        upstreamId: z
          .string()
          .default('test-school')
          .describe('Directory id under which the bridge federates to it (key kept from before directories had other types)'),
      })
      .strict()
      .prefault({}),
    attributeTestService: z
      .object({
        enabled: z.boolean().default(true).describe('Serve the built-in attribute test service at /attribute-test'),
      })
      .strict()
      .prefault({}),
    roles: z.array(roleSchema).min(1).default(DEFAULT_ROLES).describe('Role vocabulary: accepted directory values and what services receive (spec §6)'),
    organisations: organisationRegistrySchema.prefault({}),
    clients: z.array(staticClientSchema).default([]).describe('Statically configured relying parties'),
    admin: z
      .object({
        operators: z
          .array(
            z
              .object({
                username: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits and . _ @ -'),
                passwordHash: z
                  .string()
                  .regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/, 'scrypt$N$r$p$salt$hash (make one with `npm run admin -- hash-password`)'),
                environments: z
                  .array(z.enum(ENVIRONMENTS))
                  .min(1)
                  .default([...ENVIRONMENTS])
                  .describe(
                    'The MPASSid environments this operator acts for: production (approve, reject, suspend, reinstate services and change their settings; approve, suspend, reinstate directories and change approved ones), demo (publish services to demo), test (initial access tokens, add directories, start testing, check links)',
                  ),
              })
              .strict(),
          )
          .default([])
          .describe('Operators of the admin API at /admin/api (HTTP Basic). None: the admin API is disabled (404)'),
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .optional()
          .describe(
            'Serve the admin API only on this port of its own (recommended in production: keep it off the public listener); the public port then answers 404 under /admin/api',
          ),
        host: z.string().default('127.0.0.1').describe('Listen address of the admin port (default loopback only)'),
        allowInMemoryRecords: z
          .boolean()
          .default(false)
          .describe(
            'Development only: run the admin API (and so registrations) on the in-memory store, whose services, directories and audit log vanish at every restart. Off: the admin API needs Redis',
          ),
        throttle: z
          .object({
            failuresPerAddress: z
              .number()
              .int()
              .min(1)
              .default(20)
              .describe('Wrong credentials accepted from one client address per window; then 429 until the window ends'),
            failuresPerUsername: z
              .number()
              .int()
              .min(1)
              .default(10)
              .describe('Wrong passwords accepted for one username per window (from any address, on any instance); then 429'),
            windowSeconds: z.number().int().min(1).max(86_400).default(900).describe('Length of the window in which failures are counted'),
            concurrentVerifications: z
              .number()
              .int()
              .min(1)
              .max(16)
              .default(2)
              .describe('Password verifications (scrypt) running at once in this process; the rest wait, so logins keep their share of the CPU'),
            queuedVerifications: z
              .number()
              .int()
              .min(0)
              .max(1000)
              .default(8)
              .describe('Verifications that may wait for their turn; beyond this the request gets 429 at once'),
          })
          .strict()
          .prefault({})
          .describe('Limits on admin sign-in attempts, counted in the shared store before any password is hashed'),
      })
      .strict()
      .prefault({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level (env LOG_LEVEL)'),
  })
  .strict();

export type BridgeConfig = z.infer<typeof configSchema>;
export type BridgeConfigInput = z.input<typeof configSchema>;
