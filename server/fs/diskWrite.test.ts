import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { ArtifactCorruptError, createArtifactStore } from '../store/artifactStore.ts';
import { openDatabase } from '../store/database.ts';
import { sha256Hex } from '../store/hash.ts';
import { DiskFullError, diskIo, writeWholeFile } from './diskWrite.ts';
import { writeFileAtomic } from './uniqueName.ts';

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });

/** Writes half the bytes, then fails the way a disk filling up mid-file does. */
function failHalfway(): void {
  vi.spyOn(diskIo, 'writeFile').mockImplementation(async (path, data) => {
    await writeFile(path, data.subarray(0, data.length >> 1));
    throw enospc();
  });
}

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir('loraflow-disk-');
});
afterEach(() => {
  vi.restoreAllMocks();
  tmp.cleanup();
});

describe('writeWholeFile', () => {
  it('removes a partial file and names the directory when the disk is full', async () => {
    failHalfway();
    const path = join(tmp.dir, 'a.bin');
    const err = await writeWholeFile(path, Buffer.alloc(1000, 7), { exclusive: true, sync: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as Error).message).toBe(
      `no space left in ${tmp.dir} (while writing a.bin); free some disk space or move the data folder, then run again`,
    );
    expect(existsSync(path)).toBe(false);
  });

  it('leaves an existing file alone when an exclusive write finds the name taken', async () => {
    const path = join(tmp.dir, 'taken.txt');
    writeFileSync(path, 'mine');
    await expect(
      writeWholeFile(path, Buffer.from('theirs'), { exclusive: true, sync: false }),
    ).rejects.toThrow(/EEXIST/);
    expect(readFileSync(path, 'utf8')).toBe('mine');
  });
});

describe('atomic writers and the artifact store on a full disk', () => {
  it('writeFileAtomic leaves neither the target nor its temp file', async () => {
    writeFileSync(join(tmp.dir, 'keep.txt'), 'x');
    failHalfway();
    await expect(writeFileAtomic(tmp.dir, 'lora.safetensors', Buffer.alloc(4096))).rejects.toThrow(
      `no space left in ${tmp.dir}`,
    );
    expect(readdirSync(tmp.dir)).toEqual(['keep.txt']);
  });

  it('the store keeps no temp file, blob or row for a failed put', async () => {
    const db = openDatabase(tmp.dir);
    try {
      const store = createArtifactStore(db);
      failHalfway();
      await expect(store.put(Buffer.from('will not fit'))).rejects.toThrow(
        `no space left in ${store.tmpDir}`,
      );
      expect(readdirSync(store.tmpDir)).toEqual([]);
      expect(store.usage()).toEqual({ count: 0, bytes: 0 });
      vi.restoreAllMocks();
      const hash = await store.put(Buffer.from('fits now'));
      expect(await store.get(hash)).toEqual(Buffer.from('fits now'));
    } finally {
      db.close();
    }
  });
});

describe('the store against silent corruption (size and mtime unchanged)', () => {
  it('verifiedPath hashes the bytes, evicts a corrupt blob, and put() repairs it', async () => {
    const db = openDatabase(tmp.dir);
    try {
      const store = createArtifactStore(db);
      const bytes = Buffer.from('latents '.repeat(64));
      const hash = await store.put(bytes);
      expect(await store.verifiedPath(hash)).toBe(store.pathOf(hash));
      const path = store.pathOf(hash);
      const st = statSync(path);
      const rotten = Buffer.from(bytes);
      rotten[10] = rotten[10]! ^ 0xff;
      writeFileSync(path, rotten);
      utimesSync(path, st.atime, (Math.floor(st.mtimeMs) + 0.5) / 1000);
      // The cheap check cannot tell; the hash can.
      expect(store.verify(hash)).toBe(true);
      await expect(store.verifiedPath(hash)).rejects.toBeInstanceOf(ArtifactCorruptError);
      expect(existsSync(path)).toBe(false);
      expect(store.size(hash)).toBeUndefined();

      writeFileSync(path, rotten);
      utimesSync(path, st.atime, (Math.floor(st.mtimeMs) + 0.5) / 1000);
      expect(await store.put(bytes)).toBe(hash);
      expect(sha256Hex(readFileSync(path))).toBe(hash);
    } finally {
      db.close();
    }
  });
});
