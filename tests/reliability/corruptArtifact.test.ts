import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { sha256Hex } from '../../server/store/hash.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { getJson, postRun } from '../integration/serverHarness.ts';
import { makeDataset, realServerSuite, storeProblems } from './fixture.ts';

/** Bit rot: one byte flipped in place, size and mtime unchanged, so only the bytes' hash can tell. */
function flipByte(path: string): void {
  const st = statSync(path);
  const data = readFileSync(path);
  const at = Math.floor(data.length / 2);
  data[at] = data[at]! ^ 0x5a;
  writeFileSync(path, data);
  // Half a millisecond in, so the float seconds utimes takes cannot round down to the previous millisecond.
  utimesSync(path, st.atime, (Math.floor(st.mtimeMs) + 0.5) / 1000);
  expect(Math.floor(statSync(path).mtimeMs)).toBe(Math.floor(st.mtimeMs));
}

type Saved = { count: number; folder: string; images: { hash: string; file: string }[] };

describe('a corrupt artifact in the store', () => {
  const s = realServerSuite('loraflow-corrupt-', { prepare: (dir) => makeDataset(dir, 2), engine: false });
  // Crop/Resize is content-cached: on the second run its outputs come from the cache index.
  const doc = workflow()
    .node('imgs', 'loraflow/dataset/load-images', { folder: 'set' })
    .node('crop', 'loraflow/image/crop-resize', { mode: 'square', resolution: 128 })
    .node('save', 'loraflow/save/images', { folder: 'saved', embedWorkflow: false })
    .link('imgs.images', 'crop.images')
    .link('crop.images', 'save.images')
    .build('corrupt');

  const node = (r: RunDetail, id: string) => r.nodes.find((n) => n.nodeId === id)!;
  const pixels = async (file: string) =>
    sharp(join(s.dir, 'outputs', file))
      .raw()
      .toBuffer({ resolveWithObject: false });

  it('is detected by its hash on read, evicted and recomputed, never used', async () => {
    const first = await s.run(doc);
    expect(first.status).toBe('succeeded');
    const saved1 = node(first, 'save').display as Saved;
    expect(saved1.count).toBe(2);
    const victim = saved1.images[0]!.hash;
    const path = s.server.store.pathOf(victim);
    flipByte(path);
    expect(sha256Hex(readFileSync(path))).not.toBe(victim);

    const second = await s.run(doc);
    expect(second.status).toBe('succeeded');
    // Crop/Resize was a cache hit whose artifact turned out corrupt: it ran again and made the same bytes.
    expect(node(second, 'crop').status).toBe('done');
    // The failure of the first pass is not left on the node that then succeeded.
    expect(node(second, 'save')).toMatchObject({ status: 'done', error: null, reason: null });
    const saved2 = node(second, 'save').display as Saved;
    expect(saved2.images.map((i) => i.hash)).toEqual(saved1.images.map((i) => i.hash));
    expect(node(second, 'save').logs.map((l) => l.message)).toContainEqual(
      `input artifact ${victim.slice(0, 12)}… was corrupt in the store; it was removed and is recomputed`,
    );
    // The blob is whole again, and what was saved is the image, not the corrupt bytes.
    expect(sha256Hex(readFileSync(path))).toBe(victim);
    for (const [i, img] of saved2.images.entries())
      expect((await pixels(img.file)).equals(await pixels(saved1.images[i]!.file))).toBe(true);
    expect(storeProblems(s.server)).toEqual([]);

    // The next run is fully served from the cache again.
    const third = await s.run(doc);
    expect(node(third, 'crop').status).toBe('cached');
  });

  it('handed to a reader by path (sharp, the engine), it is checked first and recomputed', async () => {
    const before = await s.run(doc);
    const items = (node(before, 'imgs').outputs as { images: { items: { hash: string }[] } }).images.items;
    // Load Images' per-item cache still names this blob; Crop/Resize reads it by path.
    const source = items[1]!.hash;
    flipByte(s.server.store.pathOf(source));
    // A changed crop setting misses the node cache, so Crop/Resize reads its inputs again.
    const changed = structuredClone(doc);
    changed.nodes.find((n) => n.id === 'crop')!.params = { mode: 'square', resolution: 192 };
    const runId = (await postRun(s.server.url, changed)).body.runId!;
    expect((await s.ws.runEnd(runId)).type).toBe('run.finished');
    const detail = await getJson<RunDetail>(s.server.url, `/api/runs/${runId}`);
    expect(node(detail, 'crop').logs.map((l) => l.message)).toContainEqual(
      `input artifact ${source.slice(0, 12)}… was corrupt in the store; it was removed and is recomputed`,
    );
    expect((node(detail, 'save').display as Saved).count).toBe(2);
    expect(sha256Hex(readFileSync(s.server.store.pathOf(source)))).toBe(source);
    expect(storeProblems(s.server)).toEqual([]);
  });
});
