import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { diskIo } from '../../server/fs/diskWrite.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { listFiles, makeDataset, realServerSuite, storeProblems } from './fixture.ts';

/**
 * A full disk, injected at the write seam: writes under `dir` put down half of their bytes, then fail with
 * ENOSPC the way write(2) does when the disk fills mid-file.
 */
function fillDisk(dir: string): void {
  const real = diskIo.writeFile;
  vi.spyOn(diskIo, 'writeFile').mockImplementation(async (path, data, o) => {
    if (!path.startsWith(dir)) return real(path, data, o);
    await writeFile(path, data.subarray(0, Math.floor(data.length / 2)));
    throw Object.assign(new Error(`ENOSPC: no space left on device, write`), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
  });
}

describe('disk full while a node writes', () => {
  const s = realServerSuite('loraflow-disk-full-', { prepare: (dir) => makeDataset(dir, 3), engine: false });
  const doc = workflow()
    .node('imgs', 'loraflow/dataset/load-images', { folder: 'set' })
    .node('save', 'loraflow/save/images', { folder: 'saved' })
    .link('imgs.images', 'save.images')
    .build('disk full');
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const node = (r: RunDetail, id: string) => r.nodes.find((n) => n.nodeId === id)!;

  it('in the artifact store: the node fails with "no space left in <dir>", nothing partial, index consistent', async () => {
    fillDisk(s.server.store.tmpDir);
    const failed = await s.run(doc);
    expect(failed.status).toBe('failed');
    expect(node(failed, 'imgs').status).toBe('failed');
    expect(node(failed, 'imgs').error?.message).toContain(`no space left in ${s.server.store.tmpDir}`);
    expect(node(failed, 'save').status).toBe('skipped');
    expect(storeProblems(s.server)).toEqual([]);
    // The failure was not remembered as a bad image: no per-item result says so.
    const items = s.server.db.sqlite.prepare('SELECT result FROM item_cache').all() as { result: string }[];
    expect(items.filter((r) => r.result.includes('"ok":false'))).toEqual([]);

    vi.restoreAllMocks();
    const ok = await s.run(doc);
    expect(ok.status).toBe('succeeded');
    expect((node(ok, 'save').display as { count: number }).count).toBe(3);
    expect(storeProblems(s.server)).toEqual([]);
  });

  it('in an output folder: the save node fails naming the folder and leaves no partial file', async () => {
    const outDir = join(s.dir, 'outputs', 'saved');
    const before = listFiles(outDir);
    fillDisk(outDir);
    const failed = await s.run(doc);
    expect(failed.status).toBe('failed');
    expect(node(failed, 'imgs').status).toBe('done');
    expect(node(failed, 'save').error?.message).toContain(`no space left in ${outDir}`);
    expect(listFiles(outDir)).toEqual(before);
    expect(storeProblems(s.server)).toEqual([]);

    vi.restoreAllMocks();
    const ok = await s.run(doc);
    expect(ok.status).toBe('succeeded');
    expect(listFiles(outDir)).toHaveLength(before.length + 3);
    expect(listFiles(outDir).every((f) => f.endsWith('.png'))).toBe(true);
  });
});
