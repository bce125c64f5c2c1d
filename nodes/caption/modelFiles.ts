import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Roots } from '../../server/fs/roots.ts';
import { sha256File } from '../../server/store/hash.ts';

const hashCache = new Map<string, { key: string; hash: string }>();

/** sha256 of a model file, remembered per (path, size, mtime) so a 300 MB model is hashed once. */
export async function modelFileHash(path: string): Promise<string> {
  const st = await stat(path);
  const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
  const cached = hashCache.get(path);
  if (cached?.key === key) return cached.hash;
  const { hash } = await sha256File(path);
  hashCache.set(path, { key, hash });
  return hash;
}

/** Resolves a model folder inside the model roots and checks the files a node needs are there. */
export async function resolveModelFolder(
  roots: Roots,
  folder: string,
  files: readonly string[],
  where: string,
  howToGet: string,
): Promise<{ dir: string; paths: Record<string, string> }> {
  const r = roots.resolve('model', folder);
  if (!r.ok) throw new Error(`${where}: ${r.reason}`);
  if (!r.exists) throw new Error(`${where}: "${folder}" does not exist in the model roots. ${howToGet}`);
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const f of files) {
    const p = join(r.path, f);
    const inside = roots.resolve('model', p);
    if (!inside.ok || !inside.exists) missing.push(f);
    else paths[f] = inside.path;
  }
  if (missing.length) throw new Error(`${where}: "${folder}" is missing ${missing.join(', ')}. ${howToGet}`);
  return { dir: r.path, paths };
}
