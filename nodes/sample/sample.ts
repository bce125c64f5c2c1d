import { z } from 'zod';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { engineFromServices } from './engine.ts';
import { runSample } from './runSample.ts';
import { samplerSettingsShape, samplerSize } from './samplerSettings.ts';

const TITLE = 'Sample';

/** Non-empty lines of a multiline prompt field: one prompt per line. */
export function promptLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

const params = z.object({
  prompt: ui(z.string().default('a photo of a dog'), { widget: 'multiline' }).describe(
    'One prompt per line; each line gives `batch count` images. Connected PROMPTS are added after these.',
  ),
  negativePrompt: ui(z.string().default(''), { widget: 'multiline' }),
  batchCount: ui(z.number().int().min(1).max(64).default(1), { widget: 'slider', step: 1 }).describe(
    'Images per prompt (image i uses seed + i).',
  ),
  ...samplerSettingsShape,
});

export const sample = defineNode({
  type: 'loraflow/sample/sample',
  version: '1.0.0',
  title: TITLE,
  category: 'sample',
  description:
    'Text-to-image with the base model and optional LoRAs at their strengths. Every PNG carries the workflow and A1111 parameters.',
  heavy: true,
  output: true,
  inputs: {
    model: { type: 'MODEL' },
    loras: {
      type: 'LORA',
      list: true,
      optional: true,
      description: 'LoRAs to apply, with the strengths set on Load LoRA',
    },
    prompts: { type: 'PROMPTS', optional: true },
  },
  outputs: { images: { type: 'IMAGES' } },
  params,
  async run(ctx, inputs, p) {
    const engine = engineFromServices(ctx.services, TITLE);
    const prompts = [
      ...promptLines(p.prompt),
      ...(inputs.prompts?.prompts ?? []).map((s) => s.trim()).filter(Boolean),
    ];
    if (prompts.length === 0) throw new Error(`${TITLE}: write a prompt (one per line) or connect PROMPTS`);
    const count = prompts.length * p.batchCount;
    if (count > 256)
      throw new Error(
        `${TITLE}: ${count} images requested (prompts × batch count); the limit is 256 per run`,
      );
    const size = samplerSize(p, inputs.model.arch);
    ctx.log.info(`size: ${size.text}`);
    const pngs = await runSample(ctx, engine, {
      model: inputs.model,
      loras: inputs.loras ?? [],
      prompts,
      negativePrompt: p.negativePrompt,
      batchCount: p.batchCount,
      settings: p,
      previews: true,
    });
    const items: ImageItem[] = pngs.map((s) => ({
      hash: s.hash,
      width: s.width,
      height: s.height,
      format: 'png',
      caption: s.prompt,
      repeats: 1,
      regularization: false,
    }));
    return {
      outputs: { images: { kind: 'images', items } },
      display: {
        size: size.text,
        images: pngs.map((s) => ({
          hash: s.hash,
          width: s.width,
          height: s.height,
          seed: s.seed,
          caption: s.prompt,
        })),
      },
    };
  },
});
