import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';

const root = join(import.meta.dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the editor when `client/dist` is missing or older than its sources. */
export default async function setup(): Promise<void> {
  const index = join(root, 'client', 'dist', 'index.html');
  const sources = Math.max(
    newestMtime(join(root, 'client', 'src')),
    statSync(join(root, 'client', 'index.html')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  await build({ configFile: join(root, 'client', 'vite.config.ts'), logLevel: 'warn' });
}
