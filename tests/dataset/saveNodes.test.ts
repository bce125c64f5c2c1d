import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadImages } from '../../nodes/dataset/loadImages.ts';
import { getPngText } from '../../nodes/png/textChunks.ts';
import { saveDataset } from '../../nodes/save/saveDataset.ts';
import { saveImages } from '../../nodes/save/saveImages.ts';
import { saveLora } from '../../nodes/save/saveLora.ts';
import type { ImageItem, ImagesValue, LoraValue } from '../../nodes/sdk/values.ts';
import { createRoots } from '../../server/fs/roots.ts';
import { createNodeTestContext, type NodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { gradientImage } from './fixture.ts';

let tmp: ReturnType<typeof makeTempDir>;
let t: NodeTestContext;
let out: string;
let datasets: string;
const workflow = { version: 1, nodes: [{ id: 'save', type: 'loraflow/save/images' }] };

beforeEach(() => {
  tmp = makeTempDir('loraflow-save-');
  out = join(tmp.dir, 'out');
  datasets = join(tmp.dir, 'datasets');
  mkdirSync(datasets);
  mkdirSync(join(tmp.dir, 'elsewhere'));
  const roots = createRoots({ dataset: [datasets], model: [join(tmp.dir, 'models')], output: out });
  t = createNodeTestContext({ dataDir: join(tmp.dir, 'data'), services: { roots, workflow } });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

describe('Save LoRA', () => {
  it('writes under the name template, adds a counter instead of overwriting, and overwrites when asked', async () => {
    const bytes = Buffer.from('fake safetensors bytes for the save test');
    const lora: LoraValue = { kind: 'lora', hash: await t.store.put(bytes), name: 'mychar', metadata: {} };
    const now = new Date();
    const first = await runNodeForTest(saveLora, t, { lora }, { name: '{name}-{date}' });
    const date = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
    expect(first.display?.path).toBe(`loras/mychar-${date}.safetensors`);
    expect(readFileSync(join(out, `loras/mychar-${date}.safetensors`))).toEqual(bytes);
    expect((first.outputs.lora as LoraValue).path).toBe(join(out, `loras/mychar-${date}.safetensors`));

    const second = await runNodeForTest(saveLora, t, { lora }, { name: '{name}-{date}' });
    expect(second.display?.path).toBe(`loras/mychar-${date}_1.safetensors`);
    const third = await runNodeForTest(saveLora, t, { lora }, { name: '{name}-{date}', overwrite: true });
    expect(third.display?.path).toBe(`loras/mychar-${date}.safetensors`);
    expect(readdirSync(join(out, 'loras')).sort()).toEqual([
      `mychar-${date}.safetensors`,
      `mychar-${date}_1.safetensors`,
    ]);
  });

  it('refuses folders outside the output root and unknown placeholders', async () => {
    const lora: LoraValue = {
      kind: 'lora',
      hash: await t.store.put(Buffer.from('x')),
      name: 'a',
      metadata: {},
    };
    await expect(runNodeForTest(saveLora, t, { lora }, { folder: '../elsewhere' })).rejects.toThrow(
      /Save LoRA: folder/,
    );
    symlinkSync(join(tmp.dir, 'elsewhere'), join(out, 'link'));
    await expect(runNodeForTest(saveLora, t, { lora }, { folder: 'link' })).rejects.toThrow(/symlink/);
    await expect(runNodeForTest(saveLora, t, { lora }, { name: '{nmae}' })).rejects.toThrow(
      /unknown placeholder \{nmae\}/,
    );
    expect(readdirSync(join(tmp.dir, 'elsewhere'))).toEqual([]);
  });
});

async function item(n: number, caption: string, extra: Partial<ImageItem> = {}): Promise<ImageItem> {
  const data = await (await gradientImage(32 + n, 24)).png().toBuffer();
  return {
    hash: await t.store.put(data),
    width: 32 + n,
    height: 24,
    format: 'png',
    caption,
    repeats: 10,
    instance: 'sks',
    className: 'dog',
    source: `mychar/10_sks dog/img${n}.jpg`,
    regularization: false,
    ...extra,
  };
}

describe('Save Images', () => {
  it('writes counted PNGs with the workflow and parameters embedded', async () => {
    const images: ImagesValue = {
      kind: 'images',
      items: [await item(1, 'sks, dog'), await item(2, 'sks, cat')],
    };
    await runNodeForTest(saveImages, t, { images }, {});
    const r = await runNodeForTest(saveImages, t, { images }, {});
    expect(r.display?.count).toBe(2);
    const files = readdirSync(join(out, 'images')).sort();
    expect(files).toEqual([
      'loraflow_00001.png',
      'loraflow_00002.png',
      'loraflow_00003.png',
      'loraflow_00004.png',
    ]);
    const png = readFileSync(join(out, 'images/loraflow_00004.png'));
    expect(JSON.parse(getPngText(png, 'loraflow.workflow')!)).toEqual(workflow);
    expect(getPngText(png, 'parameters')).toMatch(/^sks, cat\nSize: 34x24/);
    expect((await sharp(png).metadata()).width).toBe(34);
  });

  it('names files after their source on request, with a counter when taken', async () => {
    const images: ImagesValue = { kind: 'images', items: [await item(1, 'a')] };
    await runNodeForTest(saveImages, t, { images }, { naming: 'source', folder: 'src' });
    await runNodeForTest(saveImages, t, { images }, { naming: 'source', folder: 'src' });
    expect(readdirSync(join(out, 'src')).sort()).toEqual(['img1.png', 'img1_1.png']);
  });
});

describe('Save Dataset', () => {
  it('exports a kohya layout that Load Images reads back identically', async () => {
    const items = [
      await item(1, 'sks, dog, grass'),
      await item(2, 'sks, dog'),
      await item(3, 'sks, other', { repeats: 5, className: undefined, source: 'x/5_sks/img3.png' }),
      await item(4, 'a dog', {
        regularization: true,
        repeats: 1,
        instance: undefined,
        source: 'reg/1_dog/r.png',
      }),
    ];
    const r = await runNodeForTest(
      saveDataset,
      t,
      { images: { kind: 'images', items } },
      { root: 'dataset', folder: 'export' },
    );
    const base = join(datasets, 'export');
    expect(readdirSync(join(base, 'img')).sort()).toEqual(['10_sks dog', '5_sks']);
    expect(readdirSync(join(base, 'img/10_sks dog')).sort()).toEqual([
      'img1.png',
      'img1.txt',
      'img2.png',
      'img2.txt',
    ]);
    expect(readFileSync(join(base, 'img/10_sks dog/img1.txt'), 'utf8')).toBe('sks, dog, grass\n');
    expect(readdirSync(join(base, 'reg'))).toEqual(['1_dog']);
    expect(r.display?.folders).toEqual({
      'img/10_sks dog': { images: 2, repeats: 10 },
      'img/5_sks': { images: 1, repeats: 5 },
      'reg/1_dog': { images: 1, repeats: 1 },
    });

    const loaded = await runNodeForTest(loadImages, t, {}, { folder: 'export/img' });
    const back = (loaded.outputs.images as ImagesValue).items;
    expect(back.map((i) => [i.source, i.repeats, i.instance, i.className, i.caption])).toEqual([
      ['export/img/10_sks dog/img1.png', 10, 'sks', 'dog', 'sks, dog, grass'],
      ['export/img/10_sks dog/img2.png', 10, 'sks', 'dog', 'sks, dog'],
      ['export/img/5_sks/img3.png', 5, 'sks', undefined, 'sks, other'],
    ]);
    expect(back.map((i) => i.hash)).toEqual(items.slice(0, 3).map((i) => i.hash));
  });

  it('refuses a non-empty folder unless overwrite is on', async () => {
    mkdirSync(join(out, 'taken'));
    writeFileSync(join(out, 'taken/mine.txt'), 'user file');
    const images: ImagesValue = { kind: 'images', items: [await item(1, 'new')] };
    await expect(runNodeForTest(saveDataset, t, { images }, { folder: 'taken' })).rejects.toThrow(
      /not empty/,
    );
    await runNodeForTest(
      saveDataset,
      t,
      { images },
      { folder: 'taken', overwrite: true, repeats: 3, instance: 'ohwx' },
    );
    expect(readFileSync(join(out, 'taken/mine.txt'), 'utf8')).toBe('user file');
    expect(readdirSync(join(out, 'taken/img'))).toEqual(['3_ohwx dog']);
  });
});
