import { z } from 'zod';

const seconds = () => z.number().int().nonnegative();

/**
 * Configuration of the organisation registry, a fragment for the bridge's config schema
 * (plug in as `organisations: organisationRegistrySchema.prefault({})`).
 */
export const organisationRegistrySchema = z
  .object({
    source: z
      .enum(['snapshot', 'http'])
      .default('snapshot')
      .describe('snapshot: the bundled file `snapshotFile` (development, tests, offline); http: the Opetushallitus organisation service at `baseUrl`'),
    snapshotFile: z
      .string()
      .min(1)
      .default('config/organisations.json')
      .describe('Organisation snapshot for source "snapshot" (relative to the working directory); entries use the service\'s own field names'),
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .default('https://virkailija.opintopolku.fi')
      .describe('Origin of the organisation service for source "http" (test environment: https://virkailija.untuvaopintopolku.fi)'),
    callerId: z
      .string()
      .regex(/^[\x21-\x7e]{1,200}$/, 'visible ASCII characters, no spaces')
      .default('mpassid-bridge')
      .describe('Sent as the Caller-Id header: the service asks every caller to name itself'),
    timeoutMs: z.number().int().positive().default(3000).describe('Timeout of one call to the organisation service; a login waits on it'),
    cache: z
      .object({
        ttlSeconds: seconds().default(3600).describe('How long a found organisation is used without asking again'),
        negativeTtlSeconds: seconds().default(300).describe('How long an unknown school code is remembered as unknown (short, so new schools appear soon)'),
        staleIfErrorSeconds: seconds().default(86_400).describe('While the service is unavailable, answers up to this old are used instead of failing'),
        maxEntries: z.number().int().positive().default(10_000).describe('Most ids kept in memory; the least recently used is dropped first'),
      })
      .strict()
      .prefault({})
      .describe('In-memory cache in front of the registry (always on)'),
  })
  .strict()
  .describe('Organisation registry: checks that school codes are active and finds school and provider names');

export type OrganisationRegistryConfig = z.infer<typeof organisationRegistrySchema>;
