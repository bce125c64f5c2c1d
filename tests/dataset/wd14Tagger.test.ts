import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wd14Input } from '../../nodes/caption/wd14Preprocess.ts';
import { wd14Tagger } from '../../nodes/caption/wd14Tagger.ts';
import type { ImageItem, ImagesValue } from '../../nodes/sdk/values.ts';
import { createRoots } from '../../server/fs/roots.ts';
import { createNodeTestContext, type NodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { countingContext } from './fixture.ts';
import { buildModel, floatTensor, node, valueInfo } from './onnxBuilder.ts';

/**
 * A tiny tagger with the real wd-v1-4 names and layout: input `input_1:0` [1,16,16,3] (BGR, 0-255),
 * output `predictions_sigmoid` [1,7]. scores = sigmoid(mean over pixels (B,G,R) / 255 · W + b), so a solid
 * colour gives known scores. W rows are the B, G, R channels.
 */
const LABELS = [
  ['tag_a', 0, [0, 0, 2]],
  ['long_hair', 0, [0, 0, 0]],
  ['smile', 0, [4, 0, -1]],
  ['hatsune_miku', 4, [0, 0, 1]],
  ['other_char', 4, [0, 0, 3]],
  ['general', 9, [0, 0, 4]],
  ['^_^', 0, [0, 0, 1.5]],
] as const;
const SIZE = 16;

function taggerModel(): Uint8Array {
  const n = LABELS.length;
  const w: number[] = [];
  for (let ch = 0; ch < 3; ch++) for (const [, , row] of LABELS) w.push(row[ch]! / 255);
  return buildModel({
    inputs: [valueInfo('input_1:0', 'float', [1, SIZE, SIZE, 3])],
    outputs: [valueInfo('predictions_sigmoid', 'float', [1, n])],
    initializers: [floatTensor('w', [3, n], w), floatTensor('b', [n], new Array(n).fill(0))],
    nodes: [
      node('ReduceMean', ['input_1:0'], ['mean'], { axes: [1, 2], keepdims: 0 }),
      node('MatMul', ['mean', 'w'], ['logits0']),
      node('Add', ['logits0', 'b'], ['logits']),
      node('Sigmoid', ['logits'], ['predictions_sigmoid']),
    ],
  });
}

let tmp: ReturnType<typeof makeTempDir>;
let t: NodeTestContext;

beforeEach(() => {
  tmp = makeTempDir('loraflow-wd14-');
  const models = join(tmp.dir, 'models');
  mkdirSync(join(models, 'tiny-tagger'), { recursive: true });
  writeFileSync(join(models, 'tiny-tagger/model.onnx'), taggerModel());
  writeFileSync(
    join(models, 'tiny-tagger/selected_tags.csv'),
    `tag_id,name,category,count\n${LABELS.map(([name, cat], i) => `${i},${name},${cat},100`).join('\n')}\n`,
  );
  mkdirSync(join(models, 'broken'));
  writeFileSync(join(models, 'broken/model.onnx'), 'not onnx');
  const roots = createRoots({
    dataset: [join(tmp.dir, 'ds')],
    model: [models],
    output: join(tmp.dir, 'out'),
  });
  t = createNodeTestContext({
    dataDir: join(tmp.dir, 'data'),
    services: { roots },
    nodeType: wd14Tagger.type,
  });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

async function solid(w: number, h: number, colour: string, caption = ''): Promise<ImageItem> {
  const data = await sharp({ create: { width: w, height: h, channels: 3, background: colour } })
    .png()
    .toBuffer();
  return { hash: await t.store.put(data), width: w, height: h, caption, repeats: 1, regularization: false };
}

async function tag(items: ImageItem[], params: Record<string, unknown> = {}, ctx = t) {
  const r = await runNodeForTest(
    wd14Tagger,
    ctx,
    { images: { kind: 'images', items } },
    { model: 'tiny-tagger', ...params },
  );
  return (r.outputs.images as ImagesValue).items.map((i) => i.caption);
}

describe('WD14 preprocessing', () => {
  it('pads with white to a square, resizes to the model size and feeds BGR 0-255', async () => {
    const red = await sharp({ create: { width: 32, height: 16, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const x = await wd14Input(red, 8);
    expect(x.length).toBe(8 * 8 * 3);
    // Top row is white padding; middle rows are red, which in BGR is (0, 0, 255).
    expect([...x.subarray(0, 3)]).toEqual([255, 255, 255]);
    const mid = (4 * 8 + 4) * 3;
    expect([...x.subarray(mid, mid + 3)]).toEqual([0, 0, 255]);
  });
});

describe('WD14 Tagger', () => {
  it('keeps general and character tags above their thresholds, by confidence, with the prefix first', async () => {
    // Red square: scores tag_a .881, long_hair .5, smile .269, hatsune_miku .731, other_char .953, ^_^ .818.
    expect(await tag([await solid(32, 32, '#ff0000')], { prefix: 'sks' })).toEqual([
      'sks, other char, tag a, ^_^, long hair',
    ]);
  });

  it('applies thresholds, exclusions, underscores, rating and order', async () => {
    const red = await solid(32, 32, '#ff0000');
    expect(await tag([red], { generalThreshold: 0.85 })).toEqual(['other char, tag a']);
    expect(await tag([red], { characterThreshold: 0.7, generalThreshold: 0.85 })).toEqual([
      'other char, tag a, hatsune miku',
    ]);
    expect(await tag([red], { exclude: ['long hair', 'tag_a'] })).toEqual(['other char, ^_^']);
    expect(await tag([red], { replaceUnderscores: false, generalThreshold: 0.6 })).toEqual([
      'other_char, tag_a, ^_^',
    ]);
    expect(await tag([red], { includeRating: true, generalThreshold: 0.85 })).toEqual([
      'general, other char, tag a',
    ]);
    expect(await tag([red], { order: 'alphabetical', generalThreshold: 0.6 })).toEqual([
      '^_^, other char, tag a',
    ]);
  });

  it('sees the white padding of a non-square image', async () => {
    // 32x16 red padded with white: mean B = G = 127.5, R = 255, so smile = sigmoid(4·0.5 − 1) = .731.
    const [caption] = await tag([await solid(32, 16, '#ff0000')], {
      generalThreshold: 0.7,
      characterThreshold: 0.99,
    });
    expect(caption).toBe('tag a, ^_^, smile');
  });

  it('keeps or appends to existing captions on request', async () => {
    const captioned = await solid(32, 32, '#ff0000', 'a red square');
    expect(await tag([captioned], { existing: 'keep' })).toEqual(['a red square']);
    expect(await tag([captioned], { existing: 'append', generalThreshold: 0.85 })).toEqual([
      'a red square, other char, tag a',
    ]);
  });

  it('runs the model once per image; threshold changes reuse cached scores', async () => {
    const items = [await solid(32, 32, '#ff0000'), await solid(24, 24, '#00ff00')];
    const c1 = countingContext(t.ctx);
    await tag(items, {}, { ...t, ctx: c1.ctx });
    expect(c1.computed()).toBe(2);
    const c2 = countingContext(t.ctx);
    const again = await tag(
      [...items, await solid(20, 20, '#0000ff')],
      { generalThreshold: 0.85 },
      { ...t, ctx: c2.ctx },
    );
    expect(c2.computed()).toBe(1);
    expect(again[0]).toBe('other char, tag a');
  });

  it('explains missing or unreadable model files', async () => {
    await expect(tag([await solid(8, 8, '#fff')], { model: 'nope' })).rejects.toThrow(
      /does not exist in the model roots/,
    );
    await expect(tag([await solid(8, 8, '#fff')], { model: 'broken' })).rejects.toThrow(
      /missing selected_tags.csv/,
    );
    await expect(tag([await solid(8, 8, '#fff')], { model: '../ds' })).rejects.toThrow(/not allowed/);
  });
});
