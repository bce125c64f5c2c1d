import { z } from 'zod';
import { openImage } from '../image/openImage.ts';

/** The fields of BLIP's `preprocessor_config.json` (BlipImageProcessor) that the pixels depend on. */
export const BlipPreprocessorConfig = z.object({
  size: z
    .union([
      z.object({ height: z.number().int().positive(), width: z.number().int().positive() }),
      z.number().int().positive(),
    ])
    .default({ height: 384, width: 384 }),
  image_mean: z.array(z.number()).length(3).default([0.48145466, 0.4578275, 0.40821073]),
  image_std: z.array(z.number()).length(3).default([0.26862954, 0.26130258, 0.27577711]),
  rescale_factor: z.number().default(1 / 255),
  do_rescale: z.boolean().default(true),
  do_normalize: z.boolean().default(true),
});
export type BlipPreprocessorConfig = z.infer<typeof BlipPreprocessorConfig>;

/**
 * BlipImageProcessor: convert to RGB, resize to exactly height x width (aspect not kept) with bicubic
 * filtering, rescale by 1/255, normalise with the CLIP mean/std; NCHW float32 `[1, 3, H, W]`.
 */
export async function blipPixelValues(
  input: Buffer | string,
  c: BlipPreprocessorConfig,
): Promise<{ data: Float32Array; height: number; width: number }> {
  const height = typeof c.size === 'number' ? c.size : c.size.height;
  const width = typeof c.size === 'number' ? c.size : c.size.width;
  const { data } = await openImage(input)
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const scale = c.do_rescale ? c.rescale_factor : 1;
  for (let ch = 0; ch < 3; ch++) {
    const mean = c.do_normalize ? c.image_mean[ch]! : 0;
    const std = c.do_normalize ? c.image_std[ch]! : 1;
    for (let p = 0; p < plane; p++) out[ch * plane + p] = (data[p * 3 + ch]! * scale - mean) / std;
  }
  return { data: out, height, width };
}
