import { type BucketConfig, type BucketSize, selectBucket, squareCover } from './buckets.ts';

export type UpscalePolicy = 'allow' | 'warn' | 'forbid';

export type CropSettings =
  | { mode: 'square'; size: number; upscale: UpscalePolicy }
  | { mode: 'buckets'; bucket: Omit<BucketConfig, 'noUpscale'>; upscale: UpscalePolicy };

export type CropPlan =
  | {
      ok: true;
      /** Final output size. */
      bucket: BucketSize;
      /** Size the image is scaled to before cropping (covers `bucket`). */
      resized: BucketSize;
      /** Centre-crop offset inside `resized` (attention/entropy crops let sharp choose instead). */
      crop: { left: number; top: number };
      upscaled: boolean;
    }
  | { ok: false; reason: string };

/**
 * Geometry for one image. Square: scale the short side to `size`, centre crop. Buckets: kohya's rules
 * (buckets.ts); `forbid` means kohya's `bucket_no_upscale`. In square mode `forbid` drops images whose short
 * side is below the size rather than train on a different resolution.
 */
export function planCrop(image: BucketSize, s: CropSettings): CropPlan {
  if (s.mode === 'square') {
    const { resized, upscaled } = squareCover(image, s.size);
    if (upscaled && s.upscale === 'forbid') {
      return {
        ok: false,
        reason: `${image.width}x${image.height} is smaller than ${s.size}x${s.size} and upscaling is forbidden`,
      };
    }
    return {
      ok: true,
      bucket: { width: s.size, height: s.size },
      resized,
      crop: {
        left: Math.floor((resized.width - s.size) / 2),
        top: Math.floor((resized.height - s.size) / 2),
      },
      upscaled,
    };
  }
  const a = selectBucket(image, { ...s.bucket, noUpscale: s.upscale === 'forbid' });
  if (a.bucket.width < 1 || a.bucket.height < 1) {
    return {
      ok: false,
      reason: `${image.width}x${image.height} is smaller than the bucket step (${s.bucket.step}) and upscaling is forbidden`,
    };
  }
  return { ok: true, bucket: a.bucket, resized: a.resized, crop: a.crop, upscaled: a.upscaled };
}
