import { copyFile, open, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/**
 * The file writes of the artifact store and the atomic file writers go through `diskIo`, so that a test can
 * make them fail the way a full disk does (ENOSPC after part of the bytes) without a tmpfs or root.
 */
export const diskIo = {
  async writeFile(path: string, data: Uint8Array, o: { exclusive: boolean; sync: boolean }): Promise<void> {
    const fh = await open(path, o.exclusive ? 'wx' : 'w');
    try {
      await fh.writeFile(data);
      if (o.sync) await fh.sync();
    } finally {
      await fh.close();
    }
  },
  copyFile(src: string, dest: string): Promise<void> {
    return copyFile(src, dest);
  },
};

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** Thrown when a write fails for lack of space; the message names the directory. */
export class DiskFullError extends Error {
  override readonly name = 'DiskFullError';
  readonly code = 'ENOSPC';
  constructor(
    readonly dir: string,
    file: string,
    options?: ErrorOptions,
  ) {
    super(
      `no space left in ${dir} (while writing ${file}); free some disk space or move the data folder, then run again`,
      options,
    );
  }
}

/** A DiskFullError naming the directory of `path` for an ENOSPC/EDQUOT error; other errors unchanged. */
export function explainWriteError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof DiskFullError || code === undefined || !NO_SPACE.has(code)) return err;
  return new DiskFullError(dirname(path), basename(path), { cause: err });
}

/**
 * Writes `data` as `path` whole or not at all: a failed write removes what it wrote, and a full disk is
 * reported as "no space left in <dir>". `exclusive` refuses to replace an existing file.
 */
export async function writeWholeFile(
  path: string,
  data: Uint8Array,
  o: { exclusive: boolean; sync: boolean },
): Promise<void> {
  try {
    await diskIo.writeFile(path, data, o);
  } catch (err) {
    // An exclusive open that found the name taken wrote nothing, and the file is not ours to remove.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(path).catch(() => {});
    throw explainWriteError(err, path);
  }
}

/** Copies `src` to `dest` whole or not at all (a partial copy is removed); a full disk names the directory. */
export async function copyWholeFile(src: string, dest: string): Promise<void> {
  try {
    await diskIo.copyFile(src, dest);
  } catch (err) {
    await unlink(dest).catch(() => {});
    throw explainWriteError(err, dest);
  }
}
