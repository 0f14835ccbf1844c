import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { generateSigningKeys, resolveSecrets } from '../../src/config/secrets.js';

describe('secrets', () => {
  it('generates development secrets once and keeps them in a private local file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mpassid-secrets-'));
    const config = parseConfig({});
    const first = await resolveSecrets(config, cwd);
    const second = await resolveSecrets(config, cwd);
    expect(second).toEqual(first);
    expect(first.jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(statSync(join(cwd, config.secrets.file)).mode & 0o777).toBe(0o600);
  });

  it('takes signing keys, cookie keys and the subject salt from configuration when given', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mpassid-secrets-'));
    const jwks = await generateSigningKeys();
    writeFileSync(join(cwd, 'jwks.json'), JSON.stringify(jwks));
    const config = parseConfig({ secrets: { jwksFile: 'jwks.json', cookieKeys: ['c'.repeat(32)], subjectSalt: 's'.repeat(32) } });
    const secrets = await resolveSecrets(config, cwd);
    expect(secrets.jwks).toEqual(jwks);
    expect(secrets.cookieKeys).toEqual(['c'.repeat(32)]);
    expect(secrets.subjectSalt).toBe('s'.repeat(32));
  });

  it('refuses a key file without private keys, with the path of the problem', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mpassid-secrets-'));
    writeFileSync(join(cwd, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k', n: 'x', e: 'AQAB' }] }));
    const config = parseConfig({ secrets: { jwksFile: 'jwks.json' } });
    await expect(resolveSecrets(config, cwd)).rejects.toBeInstanceOf(ConfigError);
    await expect(resolveSecrets(config, cwd)).rejects.toMatchObject({ problems: [expect.stringMatching(/^secrets\.jwksFile keys\.0\.d:/)] });
  });
});
