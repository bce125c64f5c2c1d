/**
 * Aspect-ratio bucketing, following kohya sd-scripts (`library/train_util.py`: `make_bucket_resolutions` and
 * `BucketManager.select_bucket`) so a dataset prepared here lands in the same buckets kohya would pick.
 * Pure functions: the Crop/Resize node and the LoRA trainer both use them.
 *
 * Rules:
 * - Bucket list (`makeBuckets`): area = base width x base height. The square bucket is
 *   floor(sqrt(area) / step) * step. Then for every width from `min` to `max` in `step`s,
 *   h = min(max, floor(floor(area / w) / step) * step); when h >= min, both (w, h) and (h, w) are buckets.
 *   Sorted by width then height, without duplicates.
 * - Assignment with upscaling allowed (`selectBucket`): an image whose exact size is a bucket keeps it;
 *   otherwise the bucket whose aspect ratio (w / h) is closest to the image's (first in sorted order on ties).
 *   The image is scaled to cover the bucket: by bucket height / image height when the image is wider than the
 *   bucket, else by bucket width / image width; sizes round half up. The overflow is centre-cropped.
 * - Assignment with `noUpscale` (kohya `bucket_no_upscale`): no predefined list. An image larger than the area
 *   is shrunk to that area at its aspect ratio, rounding one side to the step (whichever keeps the aspect closest);
 *   a smaller image keeps its size. The bucket is that size rounded down to the step, centre-cropped.
 */

export interface BucketSize {
  width: number;
  height: number;
}

export interface BucketConfig {
  /** Base resolution; its area (width x height) is the pixel budget of every bucket, e.g. 512 x 512. */
  width: number;
  height: number;
  /** Smallest bucket side (kohya `min_bucket_reso`, default 256). */
  min: number;
  /** Largest bucket side (kohya `max_bucket_reso`, default 1024). */
  max: number;
  /** Bucket sides are multiples of this (kohya `bucket_reso_steps`, default 64). */
  step: number;
  /** kohya `bucket_no_upscale`: never enlarge an image to fit a bucket. */
  noUpscale: boolean;
}

export interface BucketAssignment {
  bucket: BucketSize;
  /** Size the whole image is resized to before the centre crop (covers the bucket). */
  resized: BucketSize;
  /** Top-left of the centre crop within the resized image. */
  crop: { left: number; top: number };
  /** Bucket aspect ratio minus image aspect ratio (kohya's `ar_error`). */
  aspectError: number;
  /** True when the resized image is larger than the original on either side. */
  upscaled: boolean;
}

export function validateBucketConfig(c: BucketConfig): { ok: true } | { ok: false; reason: string } {
  for (const k of ['width', 'height', 'min', 'max', 'step'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) return { ok: false, reason: `${k} must be a positive integer` };
  }
  if (c.min > c.max) return { ok: false, reason: `min (${c.min}) must not exceed max (${c.max})` };
  if (c.min % c.step !== 0 || c.max % c.step !== 0)
    return { ok: false, reason: `min and max must be multiples of step (${c.step})` };
  return { ok: true };
}

/** kohya's `make_bucket_resolutions`. */
export function makeBuckets(
  c: Pick<BucketConfig, 'width' | 'height' | 'min' | 'max' | 'step'>,
): BucketSize[] {
  const area = c.width * c.height;
  const set = new Map<string, BucketSize>();
  const add = (width: number, height: number) => set.set(`${width}x${height}`, { width, height });
  const square = Math.floor(Math.sqrt(area) / c.step) * c.step;
  add(square, square);
  for (let w = c.min; w <= c.max; w += c.step) {
    const h = Math.min(c.max, Math.floor(Math.floor(area / w) / c.step) * c.step);
    if (h >= c.min) {
      add(w, h);
      add(h, w);
    }
  }
  return [...set.values()].sort((a, b) => a.width - b.width || a.height - b.height);
}

function roundToSteps(x: number, step: number): number {
  const r = Math.floor(x + 0.5);
  return r - (r % step);
}

function centreCrop(resized: BucketSize, bucket: BucketSize): { left: number; top: number } {
  return {
    left: Math.max(0, Math.floor((resized.width - bucket.width) / 2)),
    top: Math.max(0, Math.floor((resized.height - bucket.height) / 2)),
  };
}

/**
 * kohya's `BucketManager.select_bucket` for one image. `buckets` is `makeBuckets(config)`; pass it in when
 * assigning many images so it is computed once (ignored with `noUpscale`).
 */
export function selectBucket(
  image: BucketSize,
  config: BucketConfig,
  buckets: readonly BucketSize[] = makeBuckets(config),
): BucketAssignment {
  const { width: iw, height: ih } = image;
  const aspect = iw / ih;
  let bucket: BucketSize;
  let resized: BucketSize;
  if (!config.noUpscale) {
    bucket = buckets.find((b) => b.width === iw && b.height === ih) ?? closestAspect(buckets, aspect);
    const bucketAspect = bucket.width / bucket.height;
    const scale = aspect > bucketAspect ? bucket.height / ih : bucket.width / iw;
    resized = { width: Math.floor(iw * scale + 0.5), height: Math.floor(ih * scale + 0.5) };
  } else {
    const area = config.width * config.height;
    if (iw * ih > area) {
      const rw = Math.sqrt(area * aspect);
      const rh = area / rw;
      const bwRounded = roundToSteps(rw, config.step);
      const bhInWr = roundToSteps(bwRounded / aspect, config.step);
      const arWidthRounded = bwRounded / bhInWr;
      const bhRounded = roundToSteps(rh, config.step);
      const bwInHr = roundToSteps(bhRounded * aspect, config.step);
      const arHeightRounded = bwInHr / bhRounded;
      resized =
        Math.abs(arWidthRounded - aspect) < Math.abs(arHeightRounded - aspect)
          ? { width: bwRounded, height: Math.floor(bwRounded / aspect + 0.5) }
          : { width: Math.floor(bhRounded * aspect + 0.5), height: bhRounded };
    } else {
      resized = { width: iw, height: ih };
    }
    bucket = {
      width: resized.width - (resized.width % config.step),
      height: resized.height - (resized.height % config.step),
    };
  }
  return {
    bucket,
    resized,
    crop: centreCrop(resized, bucket),
    aspectError: bucket.width / bucket.height - aspect,
    upscaled: resized.width > iw || resized.height > ih,
  };
}

function closestAspect(buckets: readonly BucketSize[], aspect: number): BucketSize {
  let best = buckets[0];
  let bestErr = Number.POSITIVE_INFINITY;
  for (const b of buckets) {
    const err = Math.abs(b.width / b.height - aspect);
    if (err < bestErr) {
      best = b;
      bestErr = err;
    }
  }
  if (!best) throw new Error('no buckets: check min, max and step');
  return best;
}

/**
 * Square mode: the whole image scaled so its short side equals `size` (covering a size x size square), and
 * the crop box position for a centred crop. Attention/entropy crops are left to sharp.
 */
export function squareCover(image: BucketSize, size: number): { resized: BucketSize; upscaled: boolean } {
  const scale = size / Math.min(image.width, image.height);
  const resized = {
    width: Math.max(size, Math.round(image.width * scale)),
    height: Math.max(size, Math.round(image.height * scale)),
  };
  return { resized, upscaled: scale > 1 };
}

export function bucketKey(b: BucketSize): string {
  return `${b.width}x${b.height}`;
}
