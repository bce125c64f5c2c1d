import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { BlipPreprocessorConfig, blipPixelValues } from './blipPreprocess.ts';
import { mergeCaptions } from './editOps.ts';
import { generateTokens } from './generate.ts';
import { modelFileHash, resolveModelFolder } from './modelFiles.ts';
import { cachedSession, ort } from './onnxSession.ts';
import { decoderFromTokenizerJson } from './wordpiece.ts';

const TITLE = 'BLIP Caption';
export const BLIP_FILES = [
  'config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'onnx/vision_model.onnx',
  'onnx/text_decoder_model.onnx',
] as const;
const HOW_TO_GET =
  'Put an exported BLIP captioner in a model root: a folder with config.json, preprocessor_config.json, ' +
  'tokenizer.json, onnx/vision_model.onnx and onnx/text_decoder_model.onnx (see docs/blip-models.md).';

const BlipConfig = z.object({
  text_config: z.object({
    bos_token_id: z.number().int().default(30522),
    sep_token_id: z.number().int().default(102),
  }),
});

const params = z
  .object({
    model: ui(z.string().min(1, 'choose the BLIP model folder'), {
      widget: 'folder',
      root: 'model',
      placeholder: 'blip-image-captioning-base',
    }),
    prefix: ui(z.string().default(''), { placeholder: 'trigger token, e.g. sks' }).describe(
      'Put before every caption.',
    ),
    suffix: z.string().default('').describe('Put after every caption.'),
    minLength: ui(z.number().int().min(0).max(100).default(5), { group: 'advanced' }).describe(
      'Fewest new tokens.',
    ),
    maxLength: ui(z.number().int().min(1).max(128).default(30), { group: 'advanced' }).describe(
      'Most new tokens.',
    ),
    search: z.enum(['greedy', 'beam']).default('beam'),
    numBeams: ui(z.number().int().min(1).max(16).default(3), { widget: 'slider', step: 1 }),
    existing: z
      .enum(['overwrite', 'keep'])
      .default('keep')
      .describe('Images that already have a caption: keep it (not captioned again) or overwrite it.'),
  })
  .refine((p) => p.minLength <= p.maxLength, {
    path: ['minLength'],
    message: 'minLength must not exceed maxLength',
  });

type Loaded = {
  vision: ort.InferenceSession;
  decoder: ort.InferenceSession;
  pre: BlipPreprocessorConfig;
  bos: number;
  eos: number;
  decode: (ids: number[]) => string;
  salt: Record<string, string>;
};

async function loadModel(roots: ReturnType<typeof rootsFromServices>, folder: string): Promise<Loaded> {
  const where = `${TITLE}: model`;
  const { paths } = await resolveModelFolder(roots, folder, BLIP_FILES, where, HOW_TO_GET);
  const readJson = async (f: string) => {
    try {
      return JSON.parse(await readFile(paths[f]!, 'utf8')) as unknown;
    } catch (e) {
      throw new Error(`${where}: ${f} is not valid JSON: ${(e as Error).message}`);
    }
  };
  const config = BlipConfig.safeParse(await readJson('config.json'));
  if (!config.success) throw new Error(`${where}: config.json has no usable text_config (bos/sep token ids)`);
  const pre = BlipPreprocessorConfig.safeParse(await readJson('preprocessor_config.json'));
  if (!pre.success) throw new Error(`${where}: preprocessor_config.json: ${pre.error.issues[0]?.message}`);
  const tokenizer = decoderFromTokenizerJson(await readJson('tokenizer.json'), paths['tokenizer.json']);
  const visionPath = paths['onnx/vision_model.onnx']!;
  const decoderPath = paths['onnx/text_decoder_model.onnx']!;
  const [visionHash, decoderHash] = await Promise.all([
    modelFileHash(visionPath),
    modelFileHash(decoderPath),
  ]);
  let vision: ort.InferenceSession;
  let decoder: ort.InferenceSession;
  try {
    [vision, decoder] = await Promise.all([
      cachedSession(visionPath, visionHash),
      cachedSession(decoderPath, decoderHash),
    ]);
  } catch (e) {
    throw new Error(`${where}: onnxruntime could not load the model: ${(e as Error).message}`);
  }
  for (const [s, name, ins, outs] of [
    [vision, 'vision_model.onnx', ['pixel_values'], ['last_hidden_state']],
    [
      decoder,
      'text_decoder_model.onnx',
      ['input_ids', 'attention_mask', 'encoder_hidden_states'],
      ['logits'],
    ],
  ] as const) {
    const missing = [
      ...ins.filter((n) => !s.inputNames.includes(n)),
      ...outs.filter((n) => !s.outputNames.includes(n)),
    ];
    if (missing.length) {
      throw new Error(
        `${where}: ${name} lacks ${missing.join(', ')} (inputs: ${s.inputNames.join(', ')}; outputs: ${s.outputNames.join(', ')}). ${HOW_TO_GET}`,
      );
    }
  }
  const [configHash, preHash, tokHash] = await Promise.all(
    ['config.json', 'preprocessor_config.json', 'tokenizer.json'].map((f) => modelFileHash(paths[f]!)),
  );
  return {
    vision,
    decoder,
    pre: pre.data,
    bos: config.data.text_config.bos_token_id,
    eos: config.data.text_config.sep_token_id,
    decode: (ids) => tokenizer.decode(ids),
    salt: { visionHash, decoderHash, configHash: configHash!, preHash: preHash!, tokHash: tokHash! },
  };
}

/** Captions one image: vision encoder once, then the text decoder once per generated token (no KV cache). */
async function caption(
  m: Loaded,
  image: string,
  p: z.infer<typeof params>,
  signal: AbortSignal,
): Promise<string> {
  const px = await blipPixelValues(image, m.pre);
  const v = await m.vision.run({
    pixel_values: new ort.Tensor('float32', px.data, [1, 3, px.height, px.width]),
  });
  const enc = v.last_hidden_state;
  if (enc?.dims.length !== 3)
    throw new Error('vision_model.onnx: last_hidden_state is not [batch, tokens, hidden]');
  const [, encLen, hidden] = enc.dims as [number, number, number];
  const encData = enc.data as Float32Array;
  const tokens = await generateTokens(
    async (seqs) => {
      const b = seqs.length;
      const t = seqs[0]!.length;
      const ids = new BigInt64Array(b * t);
      for (const [i, s] of seqs.entries()) {
        for (const [j, tok] of s.entries()) ids[i * t + j] = BigInt(tok);
      }
      const encB = new Float32Array(b * encLen * hidden);
      for (let i = 0; i < b; i++) encB.set(encData, i * encLen * hidden);
      const out = await m.decoder.run({
        input_ids: new ort.Tensor('int64', ids, [b, t]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(b * t).fill(1n), [b, t]),
        encoder_hidden_states: new ort.Tensor('float32', encB, [b, encLen, hidden]),
      });
      const logits = out.logits;
      if (logits?.dims.length !== 3)
        throw new Error('text_decoder_model.onnx: logits are not [batch, seq, vocab]');
      const vocab = logits.dims[2]!;
      const data = logits.data as Float32Array;
      return seqs.map((_, i) => data.slice((i * t + t - 1) * vocab, (i * t + t) * vocab));
    },
    {
      bos: m.bos,
      eos: m.eos,
      minNewTokens: p.minLength,
      maxNewTokens: p.maxLength,
      numBeams: p.search === 'beam' ? p.numBeams : 1,
      signal,
    },
  );
  return m.decode(tokens);
}

export const blipCaption = defineNode({
  type: 'loraflow/caption/blip',
  version: '1.0.0',
  title: TITLE,
  category: 'caption',
  description:
    'Writes a sentence caption per image with BLIP (base or large) on onnxruntime-node. The generation loop is ' +
    'our own (greedy or beam search): @huggingface/transformers 4.3 has no BLIP model class, so its pipelines ' +
    'cannot run it. ' +
    HOW_TO_GET,
  inputs: { images: { type: 'IMAGES' } },
  outputs: { images: { type: 'IMAGES' } },
  params,
  // Reads files that can change between runs (folder contents / model files): always run; the per-item
  // cache keeps a re-run to the new or changed items, and unchanged outputs keep downstream caches.
  cache: 'never',
  heavy: true,
  async run(ctx, inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const m = await loadModel(roots, p.model);
    const todo = inputs.images.items.filter((it) => p.existing === 'overwrite' || it.caption.trim() === '');
    const decoding = {
      minLength: p.minLength,
      maxLength: p.maxLength,
      numBeams: p.search === 'beam' ? p.numBeams : 1,
    };
    const sentences = await ctx.itemCache.map(todo, {
      key: (it) => it.hash,
      salt: { ...m.salt, decoding },
      concurrency: 1,
      run: async (it) => caption(m, await ctx.store.verifiedPath(it.hash), p, ctx.signal),
      onItem: (done, total) => ctx.progress(done, total, `captioning ${done}/${total}`),
    });
    const byHash = new Map(todo.map((it, i) => [it.hash, sentences[i]!]));
    const items: ImageItem[] = inputs.images.items.map((it) => {
      const s = byHash.get(it.hash);
      if (s === undefined) return it;
      return { ...it, caption: mergeCaptions(mergeCaptions(p.prefix, s), p.suffix) };
    });
    return {
      outputs: { images: { kind: 'images', items } },
      display: {
        captioned: todo.length,
        kept: items.length - todo.length,
        captions: items.map((i) => ({ itemHash: i.hash, source: i.source ?? '', caption: i.caption })),
      },
    };
  },
});
