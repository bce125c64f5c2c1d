import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../server/config/config.ts';

export type ServeProcess = { child: ChildProcess; url: string; output: () => string };

/**
 * Spawns `loraflow serve` (bin/loraflow.mjs, with the test nodes) in `cwd` and resolves once it printed its
 * URL, or rejects with its output if it exits first. Kill what it returns (see `exited`).
 */
export function spawnServe(cwd: string, args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'loraflow.mjs'), 'serve', ...args], {
    cwd,
    env: {
      ...process.env,
      LORAFLOW_TEST_NODES: '1',
      LORAFLOW_TOKEN: '',
      LORAFLOW_DATA: '',
      LORAFLOW_PORT: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const output = () => out;
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = /loraflow (http:\/\/\S+)/.exec(out);
      if (m?.[1] && /\n/.test(out.slice(out.indexOf(m[1])))) resolve({ child, url: m[1], output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) =>
      reject(Object.assign(new Error(`serve exited with ${code}: ${out}`), { code, out })),
    );
  });
}

/** Resolves with the exit code (null when killed by a signal) once the process has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}
