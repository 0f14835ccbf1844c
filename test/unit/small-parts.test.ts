import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { pickLocale } from '../../src/http/i18n.js';
import { authnSourceAcr, requestedAuthnSource } from '../../src/provider/acr.js';
import { createLogger } from '../../src/observability/logger.js';
import { accountIdFor } from '../../src/accounts/accounts.js';
import { mpassUid } from '../../src/claims/pipeline.js';

describe('page language', () => {
  it('prefers the explicit choice, then the browser, then Finnish', () => {
    expect(pickLocale('sv', 'en-GB')).toBe('sv');
    expect(pickLocale('de en', undefined)).toBe('en');
    expect(pickLocale(undefined, 'de-DE,sv-FI;q=0.8')).toBe('sv');
    expect(pickLocale(undefined, undefined)).toBe('fi');
    expect(pickLocale('xx', 'zz')).toBe('fi');
  });
});

describe('authentication source acr values', () => {
  it('round-trips a directory id', () => {
    expect(requestedAuthnSource(authnSourceAcr('test-school'))).toBe('test-school');
  });
  it('picks the first authnsource among several values and ignores others', () => {
    expect(requestedAuthnSource('urn:other urn:mpass.id:authnsource:a urn:mpass.id:authnsource:b')).toBe('a');
    expect(requestedAuthnSource('urn:mpass.id:authnsource:')).toBeUndefined();
    expect(requestedAuthnSource(undefined)).toBeUndefined();
    expect(requestedAuthnSource(['urn:mpass.id:authnsource:a'])).toBeUndefined();
  });
});

describe('identifiers', () => {
  it('derives account ids from (directory, subject) only, keyed by the salt', () => {
    const salt = 's'.repeat(32);
    expect(accountIdFor(salt, 'a', 'u1')).toBe(accountIdFor(salt, 'a', 'u1'));
    expect(accountIdFor(salt, 'a', 'u1')).not.toBe(accountIdFor(salt, 'b', 'u1'));
    expect(accountIdFor(salt, 'a', 'u1')).not.toBe(accountIdFor('t'.repeat(32), 'a', 'u1'));
    expect(accountIdFor(salt, 'a', 'pupil-complete')).not.toContain('pupil-complete');
  });
  it('gives a stable opaque uid that changes with the directory', () => {
    const salt = 'x'.repeat(32);
    expect(mpassUid(salt, 'a', 'demo')).toMatch(/^MPASSOID\.[0-9a-f]{40}$/);
    expect(mpassUid(salt, 'a', 'demo')).not.toBe(mpassUid(salt, 'b', 'demo'));
  });
});

describe('logging', () => {
  it('censors personal data, tokens and secrets wherever they appear', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _e, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info(
      {
        code: 'authcode123',
        given_name: 'Aino',
        nested: { family_name: 'Virtanen', deeper: { learnerId: '1.2.246.562.24.00000000001', id_token: 'eyJ' } },
        headers: { authorization: 'Basic abc', cookie: 'mpass_session=zzz' },
        path: '/interaction/abc',
      },
      'event',
    );
    const text = lines.join('');
    for (const secret of ['authcode123', 'Aino', 'Virtanen', '1.2.246.562.24.00000000001', 'eyJ', 'Basic abc', 'zzz']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('/interaction/abc');
    expect(text).toContain('[redacted]');
  });
});
