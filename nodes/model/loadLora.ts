import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { SafetensorsReader } from '../../server/engine/safetensors.ts';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { TE_STRENGTH_KEY, UNET_STRENGTH_KEY } from '../sample/loraStrengths.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import { loraInfoFromHeader, readSafetensorsHeader } from './loraInfo.ts';

const TITLE = 'Load LoRA';

const params = z.object({
  file: ui(z.string().min(1, 'choose a .safetensors LoRA inside a model root'), {
    widget: 'lora',
    root: 'model',
    extensions: ['.safetensors'],
    placeholder: 'e.g. loras/my_dog.safetensors',
  }),
  strength: ui(z.number().min(-4).max(4).default(1), { widget: 'slider', step: 0.05 }).describe(
    'UNet strength (multiplier of the LoRA delta).',
  ),
  teStrength: ui(z.number().min(-4).max(4).optional(), { group: 'advanced', step: 0.05 }).describe(
    'Text-encoder strength; empty = same as the UNet strength.',
  ),
});

export const loadLora = defineNode({
  type: 'loraflow/model/load-lora',
  version: '1.0.0',
  title: TITLE,
  category: 'model',
  description:
    'Picks a LoRA .safetensors (kohya format or ours) under a model root and shows its base model, rank and trigger words.',
  inputs: {},
  outputs: { lora: { type: 'LORA' } },
  params,
  async run(ctx, _inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const r = roots.resolve('model', p.file);
    if (!r.ok) throw new Error(`${TITLE}: ${r.reason}`);
    if (!r.exists) throw new Error(`${TITLE}: "${p.file}" does not exist in the model roots`);
    if (!r.path.toLowerCase().endsWith('.safetensors'))
      throw new Error(`${TITLE}: "${p.file}" is not a .safetensors file (convert .pt/.ckpt LoRAs first)`);
    let header: Record<string, unknown>;
    try {
      // Full validation (header length, offsets inside the file, sizes, overlaps) before anything is read.
      SafetensorsReader.open(r.path);
      header = await readSafetensorsHeader(r.path);
    } catch (e) {
      throw new Error(`${TITLE}: "${p.file}" is not a usable safetensors file: ${(e as Error).message}`);
    }
    const info = loraInfoFromHeader(header);
    if (info.modules === 0)
      throw new Error(
        `${TITLE}: "${p.file}" holds no kohya LoRA weights (*.lora_down.weight); diffusers/PEFT lora_A/lora_B files must be converted to kohya format`,
      );
    ctx.signal.throwIfAborted();
    const hash = await ctx.store.put(await readFile(r.path), { label: basename(r.path) });
    const te = p.teStrength ?? p.strength;
    return {
      outputs: {
        lora: {
          kind: 'lora',
          hash,
          path: r.path,
          name: basename(r.path).replace(/\.safetensors$/i, ''),
          metadata: {
            ...info.metadata,
            [UNET_STRENGTH_KEY]: String(p.strength),
            [TE_STRENGTH_KEY]: String(te),
          },
        },
      },
      display: {
        baseModel: info.baseModel ?? 'unknown',
        rank: info.rank ?? null,
        alpha: info.alpha ?? null,
        modules: info.modules,
        triggerWords: info.triggerWords,
        strength: { unet: p.strength, te },
      },
    };
  },
});
