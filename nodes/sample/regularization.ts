import { z } from 'zod';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { engineFromServices } from './engine.ts';
import { runSample, type SampledPng } from './runSample.ts';
import { samplerSettingsShape, samplerSize } from './samplerSettings.ts';

const TITLE = 'Regularization Generate';
export const REGULARIZATION_NODE_TYPE = 'loraflow/sample/regularization';
export const REGULARIZATION_NODE_VERSION = '1.0.0';

const params = z.object({
  classPrompt: ui(
    z.string().min(1, 'write the class prompt, e.g. "a photo of a dog"').default('a photo of a dog'),
    {
      widget: 'multiline',
    },
  ).describe('The class the LoRA subject belongs to; also the caption of every image.'),
  negativePrompt: ui(z.string().default(''), { widget: 'multiline' }),
  count: ui(z.number().int().min(1).max(10_000).default(100), { widget: 'slider', step: 1 }).describe(
    'How many class images. Raising it later generates only the new ones.',
  ),
  ...samplerSettingsShape,
});

export const regularizationGenerate = defineNode({
  type: REGULARIZATION_NODE_TYPE,
  version: REGULARIZATION_NODE_VERSION,
  title: TITLE,
  category: 'sample',
  description:
    'Generates class (regularization) images with the base model. Each image is cached on its own, so an interrupted run resumes and a larger count adds only the missing images.',
  heavy: true,
  inputs: { model: { type: 'MODEL' } },
  outputs: {
    images: { type: 'IMAGES', description: 'Regularization images, captioned with the class prompt' },
  },
  params,
  async run(ctx, inputs, p) {
    const engine = engineFromServices(ctx.services, TITLE);
    const prompt = p.classPrompt.trim();
    const indices = Array.from({ length: p.count }, (_, i) => i);
    const { seed, count: _count, classPrompt: _prompt, negativePrompt, ...settings } = p;
    const size = samplerSize(p, inputs.model.arch);
    ctx.log.info(`size: ${size.text}`);
    let generated = 0;
    const results = await ctx.itemCache.map(indices, {
      // One cache entry per image: (model hash, prompt, settings) in the salt, seed + index in the key. The salt
      // holds the resolved size, so "auto" and the number it stands for share their images.
      key: (i) => String(seed + i),
      salt: {
        model: inputs.model.sha256,
        prompt,
        negative: negativePrompt,
        settings: { ...settings, width: size.width, height: size.height },
      },
      concurrency: 1,
      run: async (i): Promise<SampledPng> => {
        const [png] = await runSample(ctx, engine, {
          model: inputs.model,
          loras: [],
          prompts: [prompt],
          negativePrompt: p.negativePrompt,
          batchCount: 1,
          seeds: [seed + i],
          settings: p,
          progress: { offset: i, total: p.count },
        });
        generated++;
        if (!png) throw new Error(`${TITLE}: the engine returned no image for seed ${seed + i}`);
        return png;
      },
      onItem: (done, total, cached) => {
        if (cached) ctx.progress(done, total, `${done}/${total} (cached)`);
      },
    });
    const items: ImageItem[] = results.map((r) => ({
      hash: r.hash,
      width: r.width,
      height: r.height,
      format: 'png',
      caption: prompt,
      repeats: 1,
      className: prompt,
      regularization: true,
    }));
    return {
      outputs: { images: { kind: 'images', items } },
      display: {
        size: size.text,
        generated,
        cached: p.count - generated,
        images: results
          .slice(0, 16)
          .map((r) => ({ hash: r.hash, width: r.width, height: r.height, seed: r.seed })),
      },
    };
  },
});
