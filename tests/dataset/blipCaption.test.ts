import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blipCaption } from '../../nodes/caption/blipCaption.ts';
import { BlipPreprocessorConfig, blipPixelValues } from '../../nodes/caption/blipPreprocess.ts';
import type { ImageItem, ImagesValue } from '../../nodes/sdk/values.ts';
import { createRoots } from '../../server/fs/roots.ts';
import { createNodeTestContext, type NodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { countingContext } from './fixture.ts';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.ts';

/**
 * A tiny BLIP with the real export's names and shapes:
 * - vision_model.onnx: `pixel_values` [B,3,8,8] → `last_hidden_state` [B,2,4], every value the image's mean
 *   normalised pixel;
 * - text_decoder_model.onnx: `input_ids` [B,T], `attention_mask` [B,T], `encoder_hidden_states` [B,2,4] →
 *   `logits` [B,T,V]: a table lookup on the current token plus 0.5·(image mean) on "blue".
 * Vocabulary (WordPiece): 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [DEC] 5 a 6 red 7 blue 8 dog 9 cat 10 ##s 11 .
 */
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[DEC]', 'a', 'red', 'blue', 'dog', 'cat', '##s', '.'];
const V = VOCAB.length;
const NEXT: Record<number, Record<number, number>> = {
  4: { 5: 10 },
  5: { 6: 2.0, 7: 1.8 },
  6: { 8: 0.01, 9: 0, 3: 0 },
  7: { 9: 10 },
  8: { 11: 10 },
  9: { 10: 10 },
  10: { 11: 10 },
  11: { 3: 10 },
};

function visionModel(): Uint8Array {
  return buildModel({
    inputs: [valueInfo('pixel_values', 'float', ['batch', 3, 8, 8])],
    outputs: [valueInfo('last_hidden_state', 'float', ['batch', 2, 4])],
    initializers: [floatTensor('w', [3, 8], new Array(24).fill(1 / 3)), int64Tensor('shape', [3], [0, 2, 4])],
    nodes: [
      node('ReduceMean', ['pixel_values'], ['m'], { axes: [2, 3], keepdims: 0 }),
      node('MatMul', ['m', 'w'], ['flat']),
      node('Reshape', ['flat', 'shape'], ['last_hidden_state']),
    ],
  });
}

function decoderModel(): Uint8Array {
  const table: number[] = [];
  for (let from = 0; from < V; from++) {
    for (let to = 0; to < V; to++) table.push(NEXT[from]?.[to] ?? (NEXT[from] ? -10 : to === 3 ? 10 : -10));
  }
  const u = new Array(V).fill(0);
  u[7] = 0.5;
  return buildModel({
    inputs: [
      valueInfo('input_ids', 'int64', ['batch', 'seq']),
      valueInfo('attention_mask', 'int64', ['batch', 'seq']),
      valueInfo('encoder_hidden_states', 'float', ['batch', 'enc', 4]),
    ],
    outputs: [valueInfo('logits', 'float', ['batch', 'seq', V])],
    initializers: [
      floatTensor('table', [V, V], table),
      floatTensor('u', [V], u),
      int64Tensor('axis2', [1], [2]),
    ],
    nodes: [
      node('Gather', ['table', 'input_ids'], ['g'], { axis: 0 }),
      node('ReduceMean', ['encoder_hidden_states'], ['e'], { axes: [1, 2], keepdims: 1 }),
      node('Mul', ['e', 'u'], ['eu']),
      node('Add', ['g', 'eu'], ['l1']),
      node('Cast', ['attention_mask'], ['maskf'], { to: 1 }),
      node('Unsqueeze', ['maskf', 'axis2'], ['mask3']),
      node('Mul', ['l1', 'mask3'], ['logits']),
    ],
  });
}

let tmp: ReturnType<typeof makeTempDir>;
let t: NodeTestContext;

beforeEach(() => {
  tmp = makeTempDir('loraflow-blip-');
  const dir = join(tmp.dir, 'models/tiny-blip');
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx/vision_model.onnx'), visionModel());
  writeFileSync(join(dir, 'onnx/text_decoder_model.onnx'), decoderModel());
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['BlipForConditionalGeneration'],
      text_config: { bos_token_id: 4, sep_token_id: 3, pad_token_id: 0 },
    }),
  );
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      image_processor_type: 'BlipImageProcessor',
      size: { height: 8, width: 8 },
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      rescale_factor: 1 / 255,
      do_rescale: true,
      do_normalize: true,
      resample: 3,
    }),
  );
  const special = new Set([0, 1, 2, 3, 4]);
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        vocab: Object.fromEntries(VOCAB.map((tok, i) => [tok, i]).filter(([, i]) => i !== 4)),
      },
      added_tokens: [...special].map((id) => ({ id, content: VOCAB[id], special: true })),
    }),
  );
  const roots = createRoots({
    dataset: [join(tmp.dir, 'ds')],
    model: [join(tmp.dir, 'models')],
    output: join(tmp.dir, 'out'),
  });
  t = createNodeTestContext({
    dataDir: join(tmp.dir, 'data'),
    services: { roots },
    nodeType: blipCaption.type,
  });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

async function solid(colour: string, caption = ''): Promise<ImageItem> {
  const data = await sharp({ create: { width: 20, height: 12, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
  return { hash: await t.store.put(data), width: 20, height: 12, caption, repeats: 1, regularization: false };
}

async function captionOf(items: ImageItem[], params: Record<string, unknown> = {}, ctx = t) {
  const r = await runNodeForTest(
    blipCaption,
    ctx,
    { images: { kind: 'images', items } },
    { model: 'tiny-blip', minLength: 0, ...params },
  );
  return (r.outputs.images as ImagesValue).items.map((i) => i.caption);
}

describe('BLIP preprocessing', () => {
  it('resizes to the configured size and normalises with the CLIP mean and std (NCHW)', async () => {
    const white = await sharp({ create: { width: 30, height: 10, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    const px = await blipPixelValues(white, BlipPreprocessorConfig.parse({ size: { height: 8, width: 8 } }));
    expect(px.data.length).toBe(3 * 8 * 8);
    expect(px.data[0]).toBeCloseTo((1 - 0.48145466) / 0.26862954, 4);
    expect(px.data[64]).toBeCloseTo((1 - 0.4578275) / 0.26130258, 4);
    expect(px.data[128]).toBeCloseTo((1 - 0.40821073) / 0.27577711, 4);
  });
});

describe('BLIP Caption', () => {
  it('generates, decodes and prefixes a caption (greedy)', async () => {
    expect(await captionOf([await solid('#000000')], { search: 'greedy', prefix: 'sks' })).toEqual([
      'sks, a red dog.',
    ]);
  });

  it('beam search finds the likelier sentence; the image changes the words', async () => {
    // Black image: "a red dog." (p .74·.34) loses to "a blue cats." (p .26·1) under beam search.
    expect(
      await captionOf([await solid('#000000')], { search: 'beam', numBeams: 3, suffix: 'photo' }),
    ).toEqual(['a blue cats., photo']);
    // A white image raises "blue" above "red" even for greedy decoding.
    expect(await captionOf([await solid('#ffffff')], { search: 'greedy' })).toEqual(['a blue cats.']);
  });

  it('stops at the maximum length and keeps existing captions unless told to overwrite', async () => {
    expect(await captionOf([await solid('#000000')], { search: 'greedy', maxLength: 2 })).toEqual(['a red']);
    const captioned = await solid('#000000', 'my caption');
    expect(await captionOf([captioned], { search: 'greedy' })).toEqual(['my caption']);
    expect(await captionOf([captioned], { search: 'greedy', existing: 'overwrite' })).toEqual(['a red dog.']);
  });

  it('caches per image and reports progress per image', async () => {
    const items = [await solid('#000000'), await solid('#ffffff')];
    const c1 = countingContext(t.ctx);
    await captionOf(items, { search: 'greedy' }, { ...t, ctx: c1.ctx });
    expect(c1.computed()).toBe(2);
    expect(t.progress.filter((p) => p.max === 2).map((p) => p.value)).toEqual([1, 2]);
    const c2 = countingContext(t.ctx);
    expect(await captionOf(items, { search: 'greedy', prefix: 'sks' }, { ...t, ctx: c2.ctx })).toEqual([
      'sks, a red dog.',
      'sks, a blue cats.',
    ]);
    expect(c2.computed()).toBe(0);
  });

  it('refuses model files that are not ONNX (text, a PNG, zero bytes, truncated) with a clear error', async () => {
    const dir = join(tmp.dir, 'models/tiny-blip');
    const real = visionModel();
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    for (const [file, bytes] of [
      ['vision_model.onnx', Buffer.from('not onnx')],
      ['vision_model.onnx', png],
      ['text_decoder_model.onnx', Buffer.alloc(0)],
      ['vision_model.onnx', Buffer.from(real).subarray(0, 30)],
    ] as const) {
      const keep = { vision: visionModel(), decoder: decoderModel() };
      writeFileSync(join(dir, 'onnx', file), bytes);
      await expect(captionOf([await solid('#000')]), file).rejects.toThrow(
        /^BLIP Caption: model: onnxruntime could not load the model/,
      );
      writeFileSync(join(dir, 'onnx/vision_model.onnx'), keep.vision);
      writeFileSync(join(dir, 'onnx/text_decoder_model.onnx'), keep.decoder);
    }
  });

  it('names missing model files and bad params', async () => {
    await expect(captionOf([await solid('#000')], { model: 'nope' })).rejects.toThrow(
      /does not exist in the model roots/,
    );
    mkdirSync(join(tmp.dir, 'models/half'));
    await expect(captionOf([await solid('#000')], { model: 'half' })).rejects.toThrow(
      /missing config.json, preprocessor_config.json/,
    );
    await expect(captionOf([await solid('#000')], { minLength: 10, maxLength: 5 })).rejects.toThrow(
      /minLength must not exceed/,
    );
  });
});
