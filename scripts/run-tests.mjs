// Runs the whole jest suite and closes with the plain "N passed, N failed" line CI reads.
// Extra arguments go to jest (e.g. a path filter).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// jest's package exports hide bin/; it sits beside build/.
const jestBin = join(dirname(require.resolve('jest')), '..', 'bin', 'jest.js');
const resultFile = join(mkdtempSync(join(tmpdir(), 'mpassid-jest-')), 'result.json');

const run = spawnSync(process.execPath, [jestBin, '--json', `--outputFile=${resultFile}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim() },
});

let passed = 0;
let failed = 0;
if (existsSync(resultFile)) {
  const result = JSON.parse(readFileSync(resultFile, 'utf8'));
  passed = result.numPassedTests;
  failed = result.numFailedTests + result.numRuntimeErrorTestSuites;
}
const exitCode = run.status ?? 1;
if (exitCode !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode);
