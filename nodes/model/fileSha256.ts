import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { PerItemCache } from '../sdk/context.ts';

/** Weight files of a diffusers folder that make up its identity. */
const WEIGHT_EXT = /\.(safetensors|bin|ckpt|pt|json|txt)$/i;

export async function sha256OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    signal?.throwIfAborted();
    h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

type FileStamp = { path: string; size: number; mtimeMs: number };

async function stamp(path: string): Promise<FileStamp> {
  const s = await stat(path);
  return { path, size: s.size, mtimeMs: Math.round(s.mtimeMs) };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile() && WEIGHT_EXT.test(e.name)) out.push(p);
  }
  return out.sort();
}

/**
 * sha256 of a checkpoint file, or of a diffusers folder (sha256 over "relative path  file sha256" lines of its
 * weight and config files). Each file's hash lives in the persistent per-item cache keyed on path, size and
 * mtime, so a multi-GB checkpoint is hashed once and only re-hashed when it changes.
 */
export async function checkpointSha256(
  path: string,
  cache: PerItemCache,
  signal: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<string> {
  const s = await stat(path);
  const files = s.isDirectory() ? await listFiles(path) : [path];
  if (files.length === 0) throw new Error(`${path}: the folder holds no model files`);
  const stamps = await Promise.all(files.map(stamp));
  const hashes = await cache.map(stamps, {
    key: (f) => `${f.path}|${f.size}|${f.mtimeMs}`,
    salt: 'sha256-v1',
    concurrency: 1,
    run: (f) => sha256OfFile(f.path, signal),
    ...(onProgress ? { onItem: (done: number, total: number) => onProgress(done, total) } : {}),
  });
  if (!s.isDirectory()) return hashes[0]!;
  const h = createHash('sha256');
  files.forEach((f, i) => {
    h.update(`${relative(path, f).split(sep).join('/')}  ${hashes[i]}\n`);
  });
  return h.digest('hex');
}
