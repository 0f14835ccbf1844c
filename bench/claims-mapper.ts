/**
 * Claims mapper cost: CPU time per login of the bridge's claims step, for the catalogue users of the
 * bundled test directory (config/test-users.json: their `claims` plus `sub`).
 *
 *   claims step: mapAttributes → lookupSchools against a warm CachedRegistry over the bundled
 *                organisation snapshot (default `organisations` config) → runClaimsPipeline
 *   baseline:    JSON.parse(JSON.stringify(claims)) of the same user (a plain deep copy)
 *   timer only:  an empty step: what the measurement itself costs per sample
 *
 * Each sample is one login's step, timed with process.cpuUsage() (user + system, µs) around it, so
 * `mean` and `p95` are CPU µs per login (the timer's own cost is in both columns alike). Passes over
 * all users alternate between the claims step and the baseline; each side stops after `--passes`
 * passes or `--seconds` of its own CPU, whichever comes first. The target: < 500 µs per login.
 *
 *   npm run bench:claims [-- --passes 2000] [--seconds 5]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MAPPING, mapAttributes } from '../src/claims/attributes.js';
import { runClaimsPipeline } from '../src/claims/pipeline.js';
import { RoleVocabulary } from '../src/claims/roles.js';
import { lookupSchools } from '../src/claims/school-facts.js';
import { valuesOf } from '../src/claims/validation-table.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { createOrganisationRegistry } from '../src/organisations/index.js';
import { loadTestUsers } from '../src/testdirectory/users.js';

const TARGET_MICROS = 500;

const { values: opts } = parseArgs({
  options: {
    passes: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '5' },
  },
});
const maxPasses = Math.max(1, Math.floor(Number(opts.passes)) || 1);
const maxCpuMicros = Math.max(0.1, Number(opts.seconds) || 5) * 1e6;

const config = parseConfig({});
const registry = createOrganisationRegistry(config.organisations);
const roles = new RoleVocabulary(config.roles);
const logger = createLogger('silent');
const issuer = new URL(config.testDirectory.path, config.issuer).href;
const salt = 's'.repeat(32);
const users = loadTestUsers(resolve(config.testDirectory.usersFile)).map((u) => ({ sub: u.username, ...u.claims }) as Record<string, unknown>);

/** The claims step of one login (what ClaimsEvaluator.evaluate does, without its log line). */
async function claimsStep(raw: Record<string, unknown>): Promise<unknown> {
  const values = mapAttributes(raw, DEFAULT_MAPPING);
  const schools = await lookupSchools(registry, valuesOf(values, 'schoolIds') ?? [], logger);
  return runClaimsPipeline({
    directoryId: config.testDirectory.upstreamId,
    values,
    schools,
    roles,
    allowTestLearnerIds: true,
    originalIssuer: issuer,
    uidSalt: salt,
  });
}

async function baseline(raw: Record<string, unknown>): Promise<unknown> {
  return JSON.parse(JSON.stringify(raw)) as unknown;
}

interface Side {
  name: string;
  step: (raw: Record<string, unknown>) => Promise<unknown>;
  samples: number[];
  cpuMicros: number;
  passes: number;
}

/** One pass over every user; each login's step timed on its own. */
async function pass(side: Side): Promise<void> {
  for (const raw of users) {
    const before = process.cpuUsage();
    await side.step(raw);
    const used = process.cpuUsage(before);
    side.samples.push(used.user + used.system);
    side.cpuMicros += used.user + used.system;
  }
  side.passes += 1;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sides: Side[] = [
  { name: 'claims step', step: claimsStep, samples: [], cpuMicros: 0, passes: 0 },
  { name: 'baseline (JSON copy)', step: baseline, samples: [], cpuMicros: 0, passes: 0 },
  { name: 'timer only (no step)', step: async () => undefined, samples: [], cpuMicros: 0, passes: 0 },
];

// Warm-up: fills the registry cache (every school and its parents) and lets V8 optimise both sides.
for (let i = 0; i < 200; i += 1) for (const side of sides) await pass(side);
for (const side of sides) Object.assign(side, { samples: [], cpuMicros: 0, passes: 0 });

const more = (side: Side): boolean => side.passes < maxPasses && side.cpuMicros < maxCpuMicros;
while (sides.some(more)) for (const side of sides) if (more(side)) await pass(side);

console.log(`\nclaims step CPU per login: ${users.length} catalogue users, process.cpuUsage() per login\n`);
console.log('side                    logins   mean µs    p95 µs');
const stats = sides.map((side) => {
  const sorted = [...side.samples].sort((a, b) => a - b);
  const mean = side.cpuMicros / side.samples.length;
  const p95 = percentile(sorted, 95);
  console.log(`${side.name.padEnd(22)} ${String(side.samples.length).padStart(7)} ${mean.toFixed(1).padStart(9)} ${p95.toFixed(1).padStart(9)}`);
  return { mean, p95 };
});
const [claims, copy] = stats as [{ mean: number; p95: number }, { mean: number; p95: number }, unknown];
console.log(`\nratio claims step / baseline: ${(claims.mean / copy.mean).toFixed(1)}× (mean), ${(claims.p95 / copy.p95).toFixed(1)}× (p95)`);
const met = claims.p95 < TARGET_MICROS && claims.mean < TARGET_MICROS;
console.log(`target < ${TARGET_MICROS} µs CPU per login: ${met ? 'met' : 'NOT met'} (mean ${claims.mean.toFixed(1)} µs, p95 ${claims.p95.toFixed(1)} µs)`);
process.exitCode = met ? 0 : 1;
