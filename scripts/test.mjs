#!/usr/bin/env node
// Runs every test group: vitest (unit, integration, end-to-end) and the engine's ctest suite.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = [];

function step(name, cmd, args) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: process.env });
  const ok = r.status === 0;
  results.push({ name, ok, s: (Date.now() - t0) / 1000 });
  return ok;
}

const engineBuild = join(root, 'native', 'build');
if (existsSync(join(engineBuild, 'CTestTestfile.cmake'))) {
  step('engine (ctest)', 'ctest', ['--test-dir', engineBuild, '--output-on-failure', '-j', '2']);
}
step('vitest', join(root, 'node_modules', '.bin', 'vitest'), ['run']);
if (existsSync(join(root, 'tests', 'e2e', 'vitest.config.ts'))) {
  step('browser e2e', join(root, 'node_modules', '.bin', 'vitest'), [
    'run',
    '--config',
    'tests/e2e/vitest.config.ts',
  ]);
}

for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}  (${r.s.toFixed(1)} s)`);
const failed = results.filter((r) => !r.ok).length;
process.exit(failed === 0 ? 0 : 1);
