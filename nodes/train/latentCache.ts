import { rm } from 'node:fs/promises';
import { type BucketConfig, type BucketSize, makeBuckets, selectBucket } from '../image/buckets.ts';
import { openImage } from '../image/openImage.ts';
import type { SamplingEngine } from '../sample/engine.ts';
import type { NodeContext } from '../sdk/context.ts';
import type { ImageItem } from '../sdk/values.ts';
import { writeU8ImageTensor } from './imageTensorFile.ts';

/**
 * Latent caching for LoRA training through the per-item cache: each image is decoded, fitted to its kohya bucket
 * (images already bucket-sized, e.g. from Crop/Resize, are used as they are), VAE-encoded once by the engine's
 * `vae_encode` op (plus its mirror image when flip_aug is on) and the latents are stored in the artifact store.
 * Key = image hash; salt = model hash + dtype + bucket settings + flip, so re-running with one new image
 * encodes exactly one image.
 */
export type CachedLatents = {
  latents: string;
  flipped?: string;
  width: number;
  height: number;
};

export type LatentCacheOptions = {
  modelId: string;
  modelSha256: string;
  dtype: string;
  /** Pixel sizes must be multiples of this (VAE factor x UNet factor; 64 for SD1.5). */
  multiple: number;
  buckets: BucketConfig;
  flip: boolean;
};

/** The bucket size an image trains at and how to get there. */
export function bucketPlan(
  item: Pick<ImageItem, 'width' | 'height'>,
  o: Pick<LatentCacheOptions, 'multiple' | 'buckets'>,
  buckets: readonly BucketSize[],
): { bucket: BucketSize; resized: BucketSize; crop: { left: number; top: number } } {
  if (
    item.width % o.multiple === 0 &&
    item.height % o.multiple === 0 &&
    item.width >= o.multiple &&
    item.height >= o.multiple
  ) {
    const size = { width: item.width, height: item.height };
    return { bucket: size, resized: size, crop: { left: 0, top: 0 } };
  }
  const a = selectBucket({ width: item.width, height: item.height }, o.buckets, buckets);
  if (
    a.bucket.width % o.multiple !== 0 ||
    a.bucket.height % o.multiple !== 0 ||
    a.bucket.width === 0 ||
    a.bucket.height === 0
  )
    throw new Error(
      `LoRA Train: image ${item.width}x${item.height} lands in bucket ${a.bucket.width}x${a.bucket.height}, which is not a multiple of ${o.multiple} px; use a bucket step that is`,
    );
  return a;
}

/** Decodes an image and returns tightly packed RGB at the bucket size (area filter when shrinking, lanczos when enlarging). */
export async function bucketPixels(
  data: Buffer,
  plan: ReturnType<typeof bucketPlan>,
  flip: boolean,
): Promise<Buffer> {
  let img = openImage(data).rotate();
  const meta = await openImage(data).metadata();
  const shrinking = plan.resized.width * plan.resized.height < (meta.width ?? 0) * (meta.height ?? 0);
  img = img
    .resize(plan.resized.width, plan.resized.height, {
      fit: 'fill',
      kernel: shrinking ? 'mitchell' : 'lanczos3',
    })
    .extract({
      left: plan.crop.left,
      top: plan.crop.top,
      width: plan.bucket.width,
      height: plan.bucket.height,
    });
  if (flip) img = img.flop();
  return img.removeAlpha().toColourspace('srgb').raw().toBuffer();
}

type VaeEncodeResult = { path: string; shape: number[] };

async function encodeOne(
  ctx: NodeContext,
  engine: SamplingEngine,
  o: LatentCacheOptions,
  rgb: Buffer,
  size: BucketSize,
  label: string,
): Promise<string> {
  const images = ctx.store.tempPath('.safetensors');
  const out = ctx.store.tempPath('.safetensors');
  try {
    await writeU8ImageTensor(images, rgb, size.width, size.height);
    const r = (await engine.request(
      'vae_encode',
      { model_id: o.modelId, images, out },
      { signal: ctx.signal },
    )) as VaeEncodeResult;
    if (!r || typeof r.path !== 'string')
      throw new Error('LoRA Train: the engine returned no latents from vae_encode');
    return await ctx.store.putFile(r.path, {
      contentType: 'application/octet-stream',
      label: `latents ${label}`,
    });
  } finally {
    await rm(images, { force: true });
    await rm(out, { force: true });
  }
}

export async function cacheLatents(
  ctx: NodeContext,
  engine: SamplingEngine,
  items: readonly ImageItem[],
  o: LatentCacheOptions,
  onItem?: (done: number, total: number, cached: boolean) => void,
): Promise<CachedLatents[]> {
  const buckets = makeBuckets(o.buckets);
  return ctx.itemCache.map(items, {
    key: (it) => it.hash,
    salt: {
      v: 1,
      model: o.modelSha256,
      dtype: o.dtype,
      buckets: o.buckets,
      multiple: o.multiple,
      flip: o.flip,
    },
    concurrency: 1,
    ...(onItem ? { onItem } : {}),
    run: async (it) => {
      const plan = bucketPlan(it, o, buckets);
      const data = await ctx.store.get(it.hash);
      const label = `${plan.bucket.width}x${plan.bucket.height} of ${it.hash.slice(0, 12)}`;
      const latents = await encodeOne(
        ctx,
        engine,
        o,
        await bucketPixels(data, plan, false),
        plan.bucket,
        label,
      );
      const result: CachedLatents = { latents, width: plan.bucket.width, height: plan.bucket.height };
      if (o.flip)
        result.flipped = await encodeOne(
          ctx,
          engine,
          o,
          await bucketPixels(data, plan, true),
          plan.bucket,
          `${label} flipped`,
        );
      return result;
    },
  });
}
