import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadImages } from '../../nodes/dataset/loadImages.ts';
import { cropResize } from '../../nodes/image/cropResize.ts';
import type { ImagesValue } from '../../nodes/sdk/values.ts';
import { createRoots } from '../../server/fs/roots.ts';
import { createNodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { garbleJpegScan, gradientImage } from './fixture.ts';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir('loraflow-damaged-');
});
afterEach(() => tmp.cleanup());

describe('a JPEG with garbage image data but intact markers', () => {
  it('loads (its structure is whole), then Crop/Resize names it in a warning, skips it and keeps the rest', async () => {
    const folder = join(tmp.dir, 'datasets', '3_sks');
    mkdirSync(folder, { recursive: true });
    const good = await (await gradientImage(768, 512)).jpeg().toBuffer();
    writeFileSync(join(folder, 'good.jpg'), good);
    writeFileSync(join(folder, 'garbled.jpg'), garbleJpegScan(good));
    const roots = createRoots({
      dataset: [join(tmp.dir, 'datasets')],
      model: [join(tmp.dir, 'models')],
      output: join(tmp.dir, 'out'),
    });
    const dataDir = join(tmp.dir, 'data');
    const load = createNodeTestContext({ dataDir, services: { roots }, nodeType: loadImages.type });
    const crop = createNodeTestContext({ dataDir, services: { roots }, nodeType: cropResize.type });
    try {
      const loaded = await runNodeForTest(loadImages, load, {}, { folder: '3_sks' });
      expect((loaded.outputs.images as ImagesValue).items.map((i) => i.source)).toEqual([
        '3_sks/garbled.jpg',
        '3_sks/good.jpg',
      ]);
      expect(load.warnings).toEqual([]);

      const cropped = await runNodeForTest(
        cropResize,
        crop,
        { images: loaded.outputs.images },
        { resolution: 256 },
      );
      const items = (cropped.outputs.images as ImagesValue).items;
      expect(items.map((i) => i.source)).toEqual(['3_sks/good.jpg']);
      expect(items[0]).toMatchObject({ width: 256, height: 256, format: 'png' });
      expect(crop.warnings).toHaveLength(1);
      expect(crop.warnings[0]).toMatch(
        /Crop\/Resize: 1 image\(s\) left out: 3_sks\/garbled\.jpg: could not be processed \(.*Corrupt JPEG data/,
      );
      expect(cropped.display).toMatchObject({ count: 1, dropped: [expect.stringContaining('garbled.jpg')] });
    } finally {
      load.close();
      crop.close();
    }
  });
});
