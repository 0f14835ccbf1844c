import { z } from 'zod';

/** Opinsys' own SSO service (its developer documentation names this address). */
const OPINSYS_DEFAULT_BASE_URL = 'https://api.opinsys.fi';

/** The settings of an Opinsys (Puavo) directory, beside the fields every directory has; the shared secret is the directory's secret. */
export const opinsysSettings = {
  type: z.literal('opinsys').describe('Opinsys (Puavo) SSO: a redirect to /v3/sso, back with an HS256 JWT signed with the shared secret'),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .default(OPINSYS_DEFAULT_BASE_URL)
    .describe('Address of the Opinsys SSO service; the browser is sent to <baseUrl>/v3/sso'),
  organisation: z
    .string()
    .max(253)
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lower-case domain name such as kunta.opinsys.fi')
    .optional()
    .describe("The tenant's organisation domain (e.g. kunta.opinsys.fi), sent as `organisation` so users need not type it"),
  iatWindowSeconds: z
    .number()
    .int()
    .min(10)
    .max(600)
    .default(60)
    .describe('How old a JWT may be (its iat, plus the clock tolerance) when it reaches the bridge; its jti is remembered this long'),
  uniqueIdClaim: z
    .string()
    .min(1)
    .max(100)
    .default('id')
    .describe("The JWT claim holding the user's organisation-wide unique id (the account's identity at this directory)"),
};
