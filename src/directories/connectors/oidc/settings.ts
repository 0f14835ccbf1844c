import { z } from 'zod';

/** The settings of an OpenID Connect directory (beside the fields every directory has). */
export const oidcSettings = {
  type: z.literal('oidc').describe('OpenID Connect directory'),
  issuer: z.url().describe('OIDC issuer of the school directory (discovery is read from it)'),
  clientId: z.string().min(1).max(500).describe('Client id of the bridge at the directory'),
  scope: z.string().max(500).default('openid profile').describe('Scopes requested from the directory'),
  tokenEndpointAuthMethod: z
    .enum(['client_secret_basic', 'client_secret_post'])
    .default('client_secret_basic')
    .describe('How the bridge authenticates at the directory token endpoint'),
  userinfo: z
    .boolean()
    .default(false)
    .describe('Also read the userinfo endpoint (for directories that put attributes only there); its values are added to the ID token claims'),
};
