import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { mergeCaptions } from './editOps.ts';
import { modelFileHash, resolveModelFolder } from './modelFiles.ts';
import { cachedSession, ort } from './onnxSession.ts';
import { parseSelectedTags, TAG_CATEGORY } from './tagCsv.ts';
import { joinTags, tagFrequencies } from './tags.ts';
import { wd14Input } from './wd14Preprocess.ts';
import { selectTags } from './wd14Tags.ts';

const TITLE = 'WD14 Tagger';
const SCORE_FLOOR = 0.05;
const HOW_TO_GET =
  'Put a WD tagger in a model root: a folder with model.onnx and selected_tags.csv, as published in ' +
  'SmilingWolf/wd-v1-4-moat-tagger-v2, wd-swinv2-tagger-v3 or wd-vit-tagger-v3 on Hugging Face.';

const params = z.object({
  model: ui(z.string().min(1, 'choose the tagger folder (model.onnx + selected_tags.csv)'), {
    widget: 'folder',
    root: 'model',
    placeholder: 'wd-v1-4-moat-tagger-v2',
  }),
  generalThreshold: ui(z.number().min(0).max(1).default(0.35), { widget: 'slider', step: 0.01 }),
  characterThreshold: ui(z.number().min(0).max(1).default(0.85), { widget: 'slider', step: 0.01 }),
  prefix: ui(z.string().default(''), { placeholder: 'trigger token, e.g. sks' }).describe(
    'Put first in every caption.',
  ),
  exclude: z.array(z.string()).default([]).describe('Tags never written (underscore or space form).'),
  replaceUnderscores: z
    .boolean()
    .default(true)
    .describe('long_hair → long hair (emoticons like ^_^ are kept).'),
  order: ui(z.enum(['confidence', 'characters-first', 'alphabetical']).default('confidence'), {
    group: 'advanced',
  }),
  includeRating: ui(z.boolean().default(false), { group: 'advanced' }).describe(
    'Add the best rating tag (general/sensitive/questionable/explicit) first; kohya leaves it out.',
  ),
  existing: z
    .enum(['overwrite', 'keep', 'append'])
    .default('overwrite')
    .describe('Images that already have a caption: replace it, keep it (not tagged), or append the tags.'),
});

export const wd14Tagger = defineNode({
  type: 'loraflow/caption/wd14-tagger',
  version: '1.0.0',
  title: TITLE,
  category: 'caption',
  description:
    'Tags images with a WD14 tagger (ONNX, run by onnxruntime on the CPU): general and character tags above ' +
    'their thresholds, ordered by confidence. Preprocessing follows the reference: white padding to a square, ' +
    'bicubic resize to the model input size, BGR float 0-255. ' +
    HOW_TO_GET,
  inputs: { images: { type: 'IMAGES' } },
  outputs: { images: { type: 'IMAGES' } },
  params,
  // Reads files that can change between runs (folder contents / model files): always run; the per-item
  // cache keeps a re-run to the new or changed items, and unchanged outputs keep downstream caches.
  cache: 'never',
  async run(ctx, inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const where = `${TITLE}: model`;
    const { paths } = await resolveModelFolder(
      roots,
      p.model,
      ['model.onnx', 'selected_tags.csv'],
      where,
      HOW_TO_GET,
    );
    const modelPath = paths['model.onnx']!;
    const csvPath = paths['selected_tags.csv']!;
    const labels = parseSelectedTags(await readFile(csvPath, 'utf8'), csvPath);
    const modelHash = await modelFileHash(modelPath);
    let session: ort.InferenceSession;
    try {
      session = await cachedSession(modelPath, modelHash);
    } catch (e) {
      throw new Error(`${where}: model.onnx could not be loaded by onnxruntime: ${(e as Error).message}`);
    }
    const meta = session.inputMetadata[0];
    const shape = meta?.isTensor ? meta.shape : [];
    const size = shape[1];
    if (shape.length !== 4 || typeof size !== 'number' || shape[3] !== 3 || shape[2] !== size) {
      throw new Error(
        `${where}: expected a model input of shape [batch, H, W, 3] with H = W, got [${shape.join(', ')}]`,
      );
    }
    const inputName = session.inputNames[0]!;
    const outputName = session.outputNames[0]!;

    const todo = inputs.images.items.filter((it) => p.existing !== 'keep' || it.caption.trim() === '');
    const selection = {
      generalThreshold: p.generalThreshold,
      characterThreshold: p.characterThreshold,
      includeRating: p.includeRating,
      exclude: p.exclude,
      replaceUnderscores: p.replaceUnderscores,
      order: p.order,
    };
    // The cache keeps every score above a low floor (and all ratings), not the selection, so changing
    // thresholds, exclusions or order re-selects from cached scores without running the model again.
    const floor = Math.min(SCORE_FLOOR, p.generalThreshold, p.characterThreshold);
    const scores = await ctx.itemCache.map(todo, {
      key: (it) => it.hash,
      salt: { modelHash, labels: await modelFileHash(csvPath), floor },
      concurrency: 2,
      run: async (it): Promise<[number, number][]> => {
        const input = await wd14Input(await ctx.store.verifiedPath(it.hash), size);
        const out = await session.run({ [inputName]: new ort.Tensor('float32', input, [1, size, size, 3]) });
        const probs = out[outputName]?.data as Float32Array | undefined;
        if (!probs || probs.length !== labels.length) {
          throw new Error(
            `${where}: the model gives ${probs?.length ?? 0} scores but selected_tags.csv has ${labels.length} tags; are they from the same tagger?`,
          );
        }
        const kept: [number, number][] = [];
        for (let i = 0; i < probs.length; i++) {
          if (probs[i]! >= floor || labels[i]!.category === TAG_CATEGORY.rating) kept.push([i, probs[i]!]);
        }
        return kept;
      },
      onItem: (done, total) => ctx.progress(done, total, `tagging ${done}/${total}`),
    });
    const results = scores.map((sparse) => {
      const probs = new Float32Array(labels.length);
      for (const [i, v] of sparse) probs[i] = v;
      return selectTags(probs, labels, selection);
    });

    const byHash = new Map(todo.map((it, i) => [it.hash, results[i]!]));
    const items: ImageItem[] = inputs.images.items.map((it) => {
      const tags = byHash.get(it.hash);
      if (!tags) return it;
      const names = tags.map((t) => t.tag);
      if (p.prefix.trim()) {
        const prefix = p.prefix.trim();
        const rest = names.filter((n) => n.toLowerCase() !== prefix.toLowerCase());
        names.splice(0, names.length, prefix, ...rest);
      }
      const caption = joinTags(names);
      return { ...it, caption: p.existing === 'append' ? mergeCaptions(it.caption, caption) : caption };
    });
    const freq = tagFrequencies(items.map((i) => i.caption));
    return {
      outputs: { images: { kind: 'images', items } },
      display: {
        tagged: todo.length,
        kept: inputs.images.items.length - todo.length,
        uniqueTags: freq.length,
        tagFrequency: freq.slice(0, 200),
        captions: items.map((i) => ({ itemHash: i.hash, source: i.source ?? '', caption: i.caption })),
      },
    };
  },
});
