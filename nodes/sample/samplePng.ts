import sharp from 'sharp';
import { formatA1111Parameters } from '../png/a1111.ts';
import { withPngText } from '../png/textChunks.ts';
import type { RgbImage } from './imageTensor.ts';

/** The PNG text keyword of the embedded workflow (read back by `POST /api/workflows/from-image`). */
export const WORKFLOW_KEYWORD = 'loraflow.workflow';

export type GenerationParameters = {
  prompt: string;
  negativePrompt: string;
  steps: number;
  samplerLabel: string;
  cfgScale: number;
  seed: number;
  width: number;
  height: number;
  modelSha256: string;
  modelName: string;
  clipSkip: number;
  loras: { name: string; hash: string; unet: number; te: number }[];
};

/** A1111 `parameters` text so other tools show prompt, seed and settings. */
export function a1111Text(p: GenerationParameters): string {
  const settings: Record<string, string | number> = {
    Steps: p.steps,
    Sampler: p.samplerLabel,
    'CFG scale': p.cfgScale,
    Seed: p.seed,
    Size: `${p.width}x${p.height}`,
    'Model hash': p.modelSha256.slice(0, 10),
    Model: p.modelName,
  };
  if (p.clipSkip > 1) settings['Clip skip'] = p.clipSkip;
  if (p.loras.length) {
    settings['Lora hashes'] = p.loras.map((l) => `${l.name}: ${l.hash.slice(0, 12)}`).join(', ');
    settings['Lora strengths'] = p.loras.map((l) => `${l.name}: ${l.unet}/${l.te}`).join(', ');
  }
  return formatA1111Parameters({ prompt: p.prompt, negativePrompt: p.negativePrompt, settings });
}

/** Encodes an engine image as PNG carrying the workflow JSON and the A1111 parameters in text chunks. */
export async function encodeSamplePng(
  image: RgbImage,
  meta: { workflow?: unknown; parameters: GenerationParameters },
): Promise<Buffer> {
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  const text: Record<string, string> = { parameters: a1111Text(meta.parameters) };
  if (meta.workflow !== undefined) text[WORKFLOW_KEYWORD] = JSON.stringify(meta.workflow);
  return withPngText(png, text);
}

/** A small PNG data URL for a live preview (raw RGB at latent resolution). */
export async function previewDataUrl(image: RgbImage): Promise<string> {
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
