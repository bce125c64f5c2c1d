import { writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadImages } from '../../nodes/dataset/loadImages.ts';
import type { ImagesValue } from '../../nodes/sdk/values.ts';
import { createRoots } from '../../server/fs/roots.ts';
import { createNodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { countingContext, gradientImage, makeKohyaFixture } from './fixture.ts';

let tmp: ReturnType<typeof makeTempDir>;
let root: string;

beforeEach(async () => {
  tmp = makeTempDir('loraflow-load-');
  root = (await makeKohyaFixture(tmp.dir)).root;
});
afterEach(() => tmp.cleanup());

function context(dataDir = join(tmp.dir, 'data')) {
  const roots = createRoots({
    dataset: [root],
    model: [join(tmp.dir, 'models')],
    output: join(tmp.dir, 'out'),
  });
  return createNodeTestContext({ dataDir, services: { roots }, nodeType: loadImages.type });
}

async function load(t: ReturnType<typeof context>, params: Record<string, unknown> = {}) {
  const r = await runNodeForTest(loadImages, t, {}, { folder: 'mychar', ...params });
  return { items: (r.outputs.images as ImagesValue).items, display: r.display! };
}

describe('Load Images', () => {
  it('parses the kohya layout, captions, formats and EXIF orientation', async () => {
    const t = context();
    const { items, display } = await load(t);
    const bySource = Object.fromEntries(items.map((i) => [i.source, i]));
    expect(Object.keys(bySource)).toEqual([
      'mychar/10_sks dog/a.jpg',
      'mychar/10_sks dog/b.png',
      'mychar/10_sks dog/rotated.jpg',
      'mychar/5_sks/c.webp',
      'mychar/5_sks/d.gif',
      'mychar/5_sks/e.tiff',
      'mychar/5_sks/f.avif',
      'mychar/misc/g.png',
    ]);
    expect(bySource['mychar/10_sks dog/a.jpg']).toMatchObject({
      width: 640,
      height: 480,
      format: 'jpeg',
      caption: 'sks, dog, grass',
      repeats: 10,
      instance: 'sks',
      className: 'dog',
    });
    expect(bySource['mychar/10_sks dog/b.png']).toMatchObject({ width: 300, height: 500, caption: '' });
    // Stored 200x100 with orientation 6: shown (and trained) as 100x200.
    expect(bySource['mychar/10_sks dog/rotated.jpg']).toMatchObject({ width: 100, height: 200 });
    expect(bySource['mychar/5_sks/c.webp']).toMatchObject({
      repeats: 5,
      instance: 'sks',
      caption: 'sks, txt caption',
    });
    expect(bySource['mychar/5_sks/c.webp']?.className).toBeUndefined();
    expect(bySource['mychar/5_sks/d.gif']).toMatchObject({ width: 64, height: 48, format: 'gif' });
    expect(bySource['mychar/5_sks/e.tiff']).toMatchObject({ width: 96, height: 64 });
    expect(bySource['mychar/5_sks/f.avif']).toMatchObject({ width: 128, height: 96 });
    expect(bySource['mychar/misc/g.png']).toMatchObject({ repeats: 1, caption: 'a misc image' });

    // The artifact is the file's own bytes, addressed by their sha256.
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const fileHash = createHash('sha256')
      .update(readFileSync(join(root, 'mychar/10_sks dog/a.jpg')))
      .digest('hex');
    expect(bySource['mychar/10_sks dog/a.jpg']?.hash).toBe(fileHash);
    expect(t.store.has(fileHash)).toBe(true);

    expect(display).toMatchObject({ count: 8, withCaption: 4, withoutCaption: 4, skipped: 4 });
    expect((display.images as unknown[]).length).toBe(8);
    t.close();
  });

  it('names every bad file in one warning and warns loudly about unprefixed folders', async () => {
    const t = context();
    await load(t);
    expect(t.warnings).toHaveLength(2);
    const [prefix, bad] = t.warnings as [string, string];
    expect(prefix).toContain('kohya would SKIP');
    expect(prefix).toContain('misc');
    expect(bad).toContain('10_sks dog/corrupt.jpg (corrupt');
    expect(bad).toContain('10_sks dog/zero.png (empty file');
    expect(bad).toContain('10_sks dog/fake.jpg (not an image');
    expect(bad).toContain('10_sks dog/notes.pdf (not an image)');
    t.close();
  });

  it('reads .caption sidecars and the folder caption fallback when asked', async () => {
    const t = context();
    const { items } = await load(t, { captionExtension: '.caption', captionFallback: 'folder' });
    const cap = Object.fromEntries(items.map((i) => [i.source, i.caption]));
    expect(cap['mychar/5_sks/c.webp']).toBe('sks, webp caption');
    expect(cap['mychar/10_sks dog/a.jpg']).toBe('sks dog');
    expect(cap['mychar/5_sks/d.gif']).toBe('sks');
    t.close();
  });

  it('does not parse folder names when the kohya layout is off', async () => {
    const t = context();
    const { items } = await load(t, { kohyaLayout: false });
    expect(items.every((i) => i.repeats === 1 && i.instance === undefined)).toBe(true);
    expect(t.warnings.some((w) => w.includes('repeat prefix'))).toBe(false);
    t.close();
  });

  it('fails clearly for missing, empty and escaping folders', async () => {
    const t = context();
    await expect(load(t, { folder: 'nope' })).rejects.toThrow(/Load Images: folder "nope" does not exist/);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(root, 'empty'));
    await expect(load(t, { folder: 'empty' })).rejects.toThrow(/no images in "empty"/);
    await expect(load(t, { folder: '../..' })).rejects.toThrow(/not allowed/);
    await expect(load(t, { folder: '/etc' })).rejects.toThrow(/outside the configured dataset roots/);
    await expect(runNodeForTest(loadImages, t, {}, { folder: '' })).rejects.toThrow(/choose a folder/);
    t.close();
  });

  it('processes only the new image when one is added, and a rename keeps the content hash', async () => {
    const dataDir = join(tmp.dir, 'data');
    const t1 = context(dataDir);
    const c1 = countingContext(t1.ctx);
    const first = await runNodeForTest(loadImages, { ...t1, ctx: c1.ctx }, {}, { folder: 'mychar' });
    expect(c1.computed()).toBe(11); // 11 image files, bad ones included
    t1.close();

    await (await gradientImage(320, 240)).jpeg().toFile(join(root, 'mychar/10_sks dog/new.jpg'));
    const t2 = context(dataDir);
    const c2 = countingContext(t2.ctx);
    const second = await runNodeForTest(loadImages, { ...t2, ctx: c2.ctx }, {}, { folder: 'mychar' });
    expect(c2.computed()).toBe(1);
    expect((second.outputs.images as ImagesValue).items).toHaveLength(9);

    await rename(join(root, 'mychar/10_sks dog/a.jpg'), join(root, 'mychar/10_sks dog/renamed.jpg'));
    writeFileSync(join(root, 'mychar/10_sks dog/renamed.txt'), 'sks, dog, grass');
    const c3 = countingContext(t2.ctx);
    const third = await runNodeForTest(loadImages, { ...t2, ctx: c3.ctx }, {}, { folder: 'mychar' });
    expect(c3.computed()).toBe(1);
    const hashOf = (v: unknown, name: string) =>
      (v as ImagesValue).items.find((i) => i.source?.endsWith(name))?.hash;
    expect(hashOf(third.outputs.images, 'renamed.jpg')).toBe(hashOf(first.outputs.images, '/a.jpg'));
    t2.close();
  });
});
