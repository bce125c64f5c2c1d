import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cropResize } from '../../nodes/image/cropResize.ts';
import type { ImageItem, ImagesValue } from '../../nodes/sdk/values.ts';
import { createNodeTestContext, type NodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { countingContext, gradientImage } from './fixture.ts';

let tmp: ReturnType<typeof makeTempDir>;
let t: NodeTestContext;

beforeEach(() => {
  tmp = makeTempDir('loraflow-crop-');
  t = createNodeTestContext({ dataDir: join(tmp.dir, 'data'), nodeType: cropResize.type });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

async function item(name: string, img: Sharp, size?: { width: number; height: number }): Promise<ImageItem> {
  const data = await img.toBuffer();
  const meta = await sharp(data).metadata();
  return {
    hash: await t.store.put(data),
    width: size?.width ?? meta.width!,
    height: size?.height ?? meta.height!,
    caption: name,
    repeats: 1,
    source: name,
    regularization: false,
  };
}

async function run(items: ImageItem[], params: Record<string, unknown>, ctx = t) {
  const r = await runNodeForTest(cropResize, ctx, { images: { kind: 'images', items } }, params);
  return { items: (r.outputs.images as ImagesValue).items, display: r.display as Record<string, unknown> };
}

async function pixels(hash: string) {
  return sharp(await t.store.get(hash))
    .raw()
    .toBuffer({ resolveWithObject: true });
}

describe('Crop/Resize geometry', () => {
  it('puts a 1536x1024 image in the 640x384 bucket, scaled to 640x427 and centre-cropped 21 px from the top', async () => {
    const { items, display } = await run([await item('wide', (await gradientImage(1536, 1024)).png())], {});
    expect(items[0]).toMatchObject({ width: 640, height: 384, format: 'png', crop: { left: 0, top: 21 } });
    expect(items[0]?.original).toEqual({ width: 1536, height: 1024 });
    const { data, info } = await pixels(items[0]!.hash);
    expect([info.width, info.height]).toEqual([640, 384]);
    // Green encodes the source row: the first output row is source row 21/427 of the way down (≈ 12.5).
    expect(data[1]).toBeGreaterThan(8);
    expect(data[1]).toBeLessThan(18);
    // No horizontal crop: red spans the whole range.
    expect(data[0]).toBeLessThan(4);
    expect(data[(info.width - 1) * 3]).toBeGreaterThan(250);
    expect(display.histogram).toEqual({ '640x384': 1 });
  });

  it('square mode crops the centre of a wide image', async () => {
    const { items } = await run([await item('w', (await gradientImage(600, 300)).png())], { mode: 'square' });
    expect(items[0]).toMatchObject({ width: 512, height: 512, crop: { left: 256, top: 0 } });
    const { data } = await pixels(items[0]!.hash);
    // Output column 0 is resized column 256 of 1024, i.e. red ≈ 64.
    expect(Math.abs(data[0]! - 64)).toBeLessThan(4);
  });

  it('applies the EXIF orientation before cropping', async () => {
    const rotated = (await gradientImage(200, 100)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 });
    const { items } = await run([await item('r', rotated, { width: 100, height: 200 })], {
      mode: 'square',
      resolution: 64,
      upscale: 'allow',
    });
    const { data, info } = await pixels(items[0]!.hash);
    expect([info.width, info.height]).toEqual([64, 64]);
    // Rotated 90° clockwise: the source's x axis runs down the output, so red is constant along a row.
    const topRow = Array.from({ length: 64 }, (_, x) => data[x * 3]!);
    expect(Math.max(...topRow) - Math.min(...topRow)).toBeLessThan(12);
    expect(Math.abs(topRow[32]! - 64)).toBeLessThan(12);
    const bottom = data[63 * 64 * 3]!;
    expect(Math.abs(bottom - 191)).toBeLessThan(12);
  });

  it('attention and entropy crops give the bucket size', async () => {
    const it1 = await item('a', (await gradientImage(900, 600)).png());
    for (const crop of ['attention', 'entropy']) {
      const { items } = await run([it1], { crop });
      expect(items[0]).toMatchObject({ width: 640, height: 384 });
    }
  });
});

describe('Crop/Resize policies', () => {
  it('flattens alpha onto the background or keeps it as a mask', async () => {
    const rgba = await item('rgba', (await gradientImage(256, 256, 4)).png());
    const flat = await run([rgba], { mode: 'square', resolution: 128, background: '#00ff00' });
    const f = await pixels(flat.items[0]!.hash);
    expect(f.info.channels).toBe(3);
    // The right half was transparent: now pure background.
    expect([...f.data.subarray((127 * 128 + 127) * 3, (127 * 128 + 127) * 3 + 3)]).toEqual([0, 255, 0]);
    expect(flat.items[0]?.hasAlphaMask).toBeUndefined();
    const masked = await run([rgba], { mode: 'square', resolution: 128, alpha: 'mask' });
    const m = await pixels(masked.items[0]!.hash);
    expect(m.info.channels).toBe(4);
    expect(m.data[(127 * 128 + 127) * 4 + 3]).toBe(0);
    expect(masked.items[0]?.hasAlphaMask).toBe(true);
  });

  it('lists enlarged images, warns about them, and honours forbid', async () => {
    const small = await item('small.png', (await gradientImage(300, 200)).png());
    const big = await item('big.png', (await gradientImage(1200, 800)).png());
    const warn = await run([small, big], { upscale: 'warn' });
    expect(warn.display.upscaled).toEqual(['small.png']);
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toContain('small.png');
    expect(warn.items.map((i) => `${i.width}x${i.height}`)).toEqual(['640x384', '640x384']);

    const allow = await run([small], { upscale: 'allow' });
    expect(allow.display.upscaled).toEqual(['small.png']);
    expect(t.warnings).toHaveLength(1);

    // kohya bucket_no_upscale: 300x200 keeps its size, bucket rounded down to 256x192.
    const forbid = await run([small, big], { upscale: 'forbid' });
    expect(forbid.items.map((i) => `${i.width}x${i.height}`)).toEqual(['256x192', '576x384']);
    expect(forbid.display.upscaled).toEqual([]);

    const square = await run([small, big], { upscale: 'forbid', mode: 'square' });
    expect(square.items.map((i) => i.source)).toEqual(['big.png']);
    expect(square.display.dropped).toEqual([expect.stringContaining('small.png')]);
    expect(t.warnings.at(-1)).toContain('small.png');
  });

  it('reports a bucket histogram', async () => {
    const items = [
      await item('a', (await gradientImage(1536, 1024)).jpeg()),
      await item('b', (await gradientImage(1024, 1536)).jpeg()),
      await item('c', (await gradientImage(700, 700)).jpeg()),
      await item('d', (await gradientImage(1200, 800)).jpeg()),
    ];
    const { display } = await run(items, {});
    expect(display.histogram).toEqual({ '384x640': 1, '512x512': 1, '640x384': 2 });
  });

  it('refuses bucket settings that do not fit together', async () => {
    await expect(run([], { minBucket: 250 })).rejects.toThrow(
      /Crop\/Resize: buckets: min and max must be multiples/,
    );
  });

  it('processes only the added image on a re-run', async () => {
    const a = await item('a', (await gradientImage(800, 600)).jpeg());
    const b = await item('b', (await gradientImage(600, 800)).jpeg());
    const c1 = countingContext(t.ctx);
    await run([a], {}, { ...t, ctx: c1.ctx });
    expect(c1.computed()).toBe(1);
    const c2 = countingContext(t.ctx);
    const second = await run([a, b], {}, { ...t, ctx: c2.ctx });
    expect(c2.computed()).toBe(1);
    expect(second.items).toHaveLength(2);
    const c3 = countingContext(t.ctx);
    await run([a, b], { resolution: 768 }, { ...t, ctx: c3.ctx });
    expect(c3.computed()).toBe(2);
  });
});
