import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { CENSOR, createLogger, REDACT_PATHS, serializeError } from '../../src/observability/logger.js';

/** Every line a logger writes, parsed, without the time (which differs between two loggers). */
function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      out.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      out.map((line) => {
        const { time: _time, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return rest;
      }),
  };
}

const SENSITIVE = ['code', 'state', 'sub', 'claims', 'set-cookie', 'given_name', 'token', 'accountId', 'learner_id', 'authorization'];
const OTHER = ['path', 'status', 'directoryId', 'reason', 'items', 'x'];

describe('log redaction', () => {
  // The bridge's logger censors with its own walk instead of pino's wildcard paths (about 30× cheaper
  // per line); what reaches the log must be exactly what pino's redaction of the same paths wrote.
  it('writes what pino redact with the same paths writes, for any nesting of sensitive keys', () => {
    const reference = capture();
    const ours = capture();
    const pinoRedact = pino(
      { level: 'info', base: { service: 'mpassid-bridge' }, redact: { paths: REDACT_PATHS, censor: CENSOR }, serializers: { err: serializeError } },
      reference.stream,
    );
    const bridge = createLogger('info', ours.stream);
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, value, tie('object'), tie('array')),
      object: fc.dictionary(fc.constantFrom(...SENSITIVE, ...OTHER), tie('node'), { maxKeys: 5 }),
      array: fc.array(tie('node'), { maxLength: 3 }),
    }));
    fc.assert(
      fc.property(tree.object, (line) => {
        const before = JSON.stringify(line);
        bridge.info(line, 'line');
        // The caller's object is never changed (pino's own redaction can leave a nested censor behind
        // in it, so the reference gets a copy).
        expect(JSON.stringify(line)).toBe(before);
        pinoRedact.info(JSON.parse(before), 'line');
        expect(ours.lines().at(-1)).toEqual(reference.lines().at(-1));
      }),
      { numRuns: 500 },
    );
  });

  it('censors serialized errors and child bindings as before', () => {
    const reference = capture();
    const ours = capture();
    const pinoRedact = pino(
      { level: 'info', base: { service: 'mpassid-bridge' }, redact: { paths: REDACT_PATHS, censor: CENSOR }, serializers: { err: serializeError } },
      reference.stream,
    );
    const bridge = createLogger('info', ours.stream);
    const err = Object.assign(new Error('directory token exchange failed'), { code: 'ECONNREFUSED', state: 'abc', cause: { code: 'x', sub: 'pupil' } });
    for (const logger of [pinoRedact, bridge]) {
      logger.warn({ err, directoryId: 'school-a', reason: 'directory_unavailable' }, 'failed');
      const child = logger.child({ sub: 'pupil-1', directoryId: 'school-a' });
      child.info({ claims: { given_name: 'Aino' }, nested: { deeper: { code: 'c' } } }, 'child');
      child.child({ state: 'xyz', step: 2 }).info({ ok: true }, 'grandchild');
    }
    expect(ours.lines()).toEqual(reference.lines());
    expect(JSON.stringify(ours.lines())).not.toMatch(/pupil|Aino|"abc"|xyz/);
  });
});
