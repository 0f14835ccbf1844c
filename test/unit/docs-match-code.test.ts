import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';

/** Wrappers around a setting's own type (optional, defaults, pipes) that the docs do not see. */
function unwrap(type: z.ZodType): z.ZodType {
  let current = type as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } };
  for (let depth = 0; depth < 10; depth += 1) {
    const def = current._zod.def;
    const inner = ['optional', 'default', 'prefault', 'nullable'].includes(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
    if (!inner) break;
    current = inner as unknown as typeof current;
  }
  return current as unknown as z.ZodType;
}

/** Every setting of the configuration: the paths of the schema's leaves (lists and unions are one setting). */
function settingPaths(type: z.ZodType, prefix = ''): string[] {
  const def = (unwrap(type) as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType> } } })._zod.def;
  if (def.type !== 'object' || !def.shape) return [prefix];
  return Object.entries(def.shape).flatMap(([key, value]) => settingPaths(value, prefix ? `${prefix}.${key}` : key));
}

describe('the documentation says what the code does', () => {
  it("the README's configuration reference has every setting of the schema", () => {
    // The names in the first cell of every table row (a row may document several settings).
    const rows = readFileSync('README.md', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    const names = new Set(rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
    const documented = (path: string) => {
      const parents = path
        .split('.')
        .map((_, i, parts) => `${parts.slice(0, i).join('.')}.*`)
        .slice(1);
      return [path, `${path}[]`, ...parents].some((name) => names.has(name));
    };
    const paths = settingPaths(configSchema);
    expect(paths.length).toBeGreaterThan(50);
    expect(paths.filter((path) => !documented(path))).toEqual([]);
  });

  it('docs/admin-api.yaml describes every route of the admin API, and no other', () => {
    const spec = parseYaml(readFileSync('docs/admin-api.yaml', 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const normalize = (path: string) => path.replace(/\{[^}]+\}|:[A-Za-z]+/g, '{}');
    const documented = new Set(
      Object.entries(spec.paths).flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((m) => m !== 'parameters')
          .map((m) => `${m.toUpperCase()} ${normalize(path)}`),
      ),
    );
    const source = readdirSync('src/admin')
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join('src/admin', f), 'utf8'))
      .join('\n');
    const routes = new Set([...source.matchAll(/router\.(get|post|put|patch|delete)\('([^']+)'/g)].map((m) => `${m[1]!.toUpperCase()} ${normalize(m[2]!)}`));
    expect([...routes].filter((r) => !documented.has(r)).sort()).toEqual([]);
    expect([...documented].filter((r) => !routes.has(r)).sort()).toEqual([]);
  });
});
