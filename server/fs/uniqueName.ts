import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { explainWriteError, writeWholeFile } from './diskWrite.ts';

/** `photo.jpg` → `photo_1.jpg`, `photo_2.jpg`, ... */
export function counterName(fileName: string, n: number): string {
  if (n === 0) return fileName;
  const ext = extname(fileName);
  return `${fileName.slice(0, fileName.length - ext.length)}_${n}${ext}`;
}

/** A temp path next to `target`, so the final rename/link stays on one filesystem. */
export function siblingTemp(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `data` to a temp file next to `target`, fsyncs it and returns the temp path. A failed write leaves
 * no temp file behind; a full disk is reported as "no space left in <dir>".
 */
export async function writeTemp(target: string, data: Uint8Array): Promise<string> {
  const tmp = siblingTemp(target);
  await writeWholeFile(tmp, data, { exclusive: true, sync: true });
  return tmp;
}

/** Atomically publishes `tmp` as `target`, never replacing an existing file. Throws EEXIST if taken. */
async function publishExclusive(tmp: string, target: string): Promise<void> {
  try {
    await link(tmp, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw e;
    // Filesystems without hard links: an exclusive copy is still never-overwriting.
    try {
      await copyFile(tmp, target, constants.COPYFILE_EXCL);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw err;
      // The target was created by this copy: a partial one must not stay under the final name.
      await unlink(target).catch(() => {});
      throw explainWriteError(err, target);
    }
  }
  await unlink(tmp);
}

/**
 * Writes `data` into `dir` as `fileName`, or with a counter (`name_1.ext`, ...) when that name is taken.
 * With `overwrite`, replaces the file atomically instead. Returns the path written.
 */
export async function writeFileAtomic(
  dir: string,
  fileName: string,
  data: Uint8Array,
  options: { overwrite?: boolean; maxTries?: number } = {},
): Promise<string> {
  const first = join(dir, fileName);
  const tmp = await writeTemp(first, data);
  try {
    if (options.overwrite) {
      await rename(tmp, first);
      return first;
    }
    const maxTries = options.maxTries ?? 10_000;
    for (let n = 0; n < maxTries; n++) {
      const target = join(dir, counterName(fileName, n));
      try {
        await publishExclusive(tmp, target);
        return target;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    throw new Error(`could not find a free name for "${fileName}" in ${dir} after ${maxTries} tries`);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** Atomically creates `target` with `data`; returns false (writing nothing) when the name is taken. */
export async function writeFileExclusive(target: string, data: Uint8Array): Promise<boolean> {
  const tmp = await writeTemp(target, data);
  try {
    await publishExclusive(tmp, target);
    return true;
  } catch (e) {
    await unlink(tmp).catch(() => {});
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Atomically writes `target`, replacing it if present. */
export async function replaceFileAtomic(target: string, data: Uint8Array): Promise<void> {
  const tmp = await writeTemp(target, data);
  try {
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
