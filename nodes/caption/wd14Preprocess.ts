import sharp from 'sharp';
import { openImage } from '../image/openImage.ts';

/**
 * Preprocessing of the WD taggers, as SmilingWolf's reference code does it (wd-v1-4 / wd-v3 tagger space,
 * `prepare_image`; kohya's `tag_images_by_wd14_tagger.py` is equivalent): composite transparency onto white,
 * pad to a square with white (image centred), resize to the model's input size with bicubic filtering, then
 * RGB → BGR as float32 0-255 in NHWC `[1, size, size, 3]`. No mean/std normalisation.
 */
export async function wd14Input(input: Buffer | string, size: number): Promise<Float32Array> {
  const white = { r: 255, g: 255, b: 255 };
  const { data: rgb, info } = await openImage(input)
    .rotate()
    .flatten({ background: white })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const side = Math.max(info.width, info.height);
  const left = Math.floor((side - info.width) / 2);
  const top = Math.floor((side - info.height) / 2);
  // Pad first and resize second (not sharp's resize-then-pad `contain`) so edge pixels match the reference.
  let img = sharp(rgb, { raw: { width: info.width, height: info.height, channels: info.channels } }).extend({
    left,
    top,
    right: side - info.width - left,
    bottom: side - info.height - top,
    background: white,
  });
  if (side !== size) {
    const padded = await img.raw().toBuffer({ resolveWithObject: true });
    img = sharp(padded.data, { raw: { width: side, height: side, channels: padded.info.channels } }).resize(
      size,
      size,
      {
        kernel: 'cubic',
      },
    );
  }
  const { data, info: out } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (out.width !== size || out.height !== size || out.channels !== 3) {
    throw new Error(
      `preprocessing produced ${out.width}x${out.height}x${out.channels}, expected ${size}x${size}x3`,
    );
  }
  const tensor = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    tensor[p * 3] = data[p * 3 + 2]!;
    tensor[p * 3 + 1] = data[p * 3 + 1]!;
    tensor[p * 3 + 2] = data[p * 3]!;
  }
  return tensor;
}
