import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { NodeContext, PerItemCache } from '../../nodes/sdk/context.ts';

/** A solid image with a diagonal gradient so crops and rotations are visible in pixel values. */
export async function gradientImage(width: number, height: number, channels: 3 | 4 = 3): Promise<Sharp> {
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      raw[o] = Math.round((x / Math.max(1, width - 1)) * 255);
      raw[o + 1] = Math.round((y / Math.max(1, height - 1)) * 255);
      raw[o + 2] = 128;
      if (channels === 4) raw[o + 3] = x < width / 2 ? 255 : 0;
    }
  }
  return sharp(raw, { raw: { width, height, channels } });
}

export type KohyaFixture = {
  /** The dataset root. */
  root: string;
  /** The dataset folder inside the root, relative (`mychar`). */
  folder: string;
};

/**
 * A kohya-layout dataset under `<base>/datasets/mychar`:
 * - `10_sks dog/`: a.jpg 640x480 (+ a.txt), b.png 300x500 (no caption), rotated.jpg stored 200x100 with
 *   EXIF orientation 6 (shown 100x200, + rotated.txt), corrupt.jpg (truncated), zero.png (0 bytes),
 *   fake.jpg (text), notes.pdf (non-image)
 * - `5_sks/`: c.webp 512x512 (+ c.caption), d.gif 64x48 (two frames), e.tiff 96x64, f.avif 128x96
 * - `misc/` (no repeat prefix): g.png 256x256 RGBA (+ g.txt)
 */
export async function makeKohyaFixture(base: string): Promise<KohyaFixture> {
  const root = join(base, 'datasets');
  const ds = join(root, 'mychar');
  const a = join(ds, '10_sks dog');
  const b = join(ds, '5_sks');
  const m = join(ds, 'misc');
  for (const d of [a, b, m]) mkdirSync(d, { recursive: true });

  const jpg = await (await gradientImage(640, 480)).jpeg().toBuffer();
  writeFileSync(join(a, 'a.jpg'), jpg);
  writeFileSync(join(a, 'a.txt'), 'sks, dog, grass\nsecond line ignored');
  await (await gradientImage(300, 500)).png().toFile(join(a, 'b.png'));
  await (await gradientImage(200, 100))
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(join(a, 'rotated.jpg'));
  writeFileSync(join(a, 'rotated.txt'), 'sks, dog, lying');
  writeFileSync(join(a, 'corrupt.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
  writeFileSync(join(a, 'zero.png'), Buffer.alloc(0));
  writeFileSync(join(a, 'fake.jpg'), 'this is not a jpeg');
  writeFileSync(join(a, 'notes.pdf'), '%PDF-1.4 not really');

  await (await gradientImage(512, 512)).webp().toFile(join(b, 'c.webp'));
  writeFileSync(join(b, 'c.caption'), 'sks, webp caption');
  writeFileSync(join(b, 'c.txt'), 'sks, txt caption');
  // A two-frame GIF: the first frame (red) is what loads.
  const red = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
  const blue = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#0000ff' } })
    .png()
    .toBuffer();
  await sharp([red, blue], { join: { animated: true } })
    .gif()
    .toFile(join(b, 'd.gif'));
  await (await gradientImage(96, 64)).tiff().toFile(join(b, 'e.tiff'));
  await (await gradientImage(128, 96)).avif({ effort: 0 }).toFile(join(b, 'f.avif'));

  await (await gradientImage(256, 256, 4)).png().toFile(join(m, 'g.png'));
  writeFileSync(join(m, 'g.txt'), 'a misc image');
  return { root, folder: 'mychar' };
}

/** Wraps a context so the test can count how many items a node actually computed (cache misses). */
export function countingContext(ctx: NodeContext): { ctx: NodeContext; computed: () => number } {
  let n = 0;
  const itemCache: PerItemCache = {
    map: (items, opts) =>
      ctx.itemCache.map(items, {
        ...opts,
        run: (item, i) => {
          n++;
          return opts.run(item, i);
        },
      }),
  };
  const wrapped = Object.create(ctx) as NodeContext;
  Object.defineProperty(wrapped, 'itemCache', { value: itemCache });
  return { ctx: wrapped, computed: () => n };
}

/**
 * A copy of a baseline JPEG whose entropy-coded data (between the SOS header and EOI) is replaced by
 * pseudo-random bytes without 0xff: every marker is intact, so only a decode can tell it is broken.
 */
export function garbleJpegScan(jpg: Buffer): Buffer {
  const out = Buffer.from(jpg);
  let i = 2;
  while (!(out[i] === 0xff && out[i + 1] === 0xda)) i += 2 + out.readUInt16BE(i + 2);
  const start = i + 2 + out.readUInt16BE(i + 2);
  const end = out.lastIndexOf(Buffer.from([0xff, 0xd9]));
  let s = 12345;
  for (let p = start; p < end; p++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[p] = (s >>> 24) % 0xff;
  }
  return out;
}
