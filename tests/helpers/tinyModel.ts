import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Whether `bin` is an engine built with `make-model` (usage lists the CLI commands). */
export function engineHasMakeModel(bin: string): boolean {
  if (!existsSync(bin)) return false;
  const usage = spawnSync(bin, [], { encoding: 'utf8' });
  return `${usage.stdout}${usage.stderr}`.includes('make-model');
}

/** Writes a tiny SD1 checkpoint (ldm layout, seed 1) to `out` with `loraflow-engine make-model`. */
export function makeTinyModel(bin: string, out: string): void {
  execFileSync(bin, [
    'make-model',
    '--arch',
    'sd1',
    '--size',
    'tiny',
    '--layout',
    'ldm',
    '--seed',
    '1',
    '--out',
    out,
  ]);
}
