import sharp from 'sharp';
import { z } from 'zod';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { bucketKey, validateBucketConfig } from './buckets.ts';
import { type CropSettings, planCrop } from './cropPlan.ts';
import { openImage } from './openImage.ts';
import { LIBUV_POOL_SIZE } from './workerPool.ts';

const TITLE = 'Crop/Resize';

const params = z.object({
  mode: z
    .enum(['buckets', 'square'])
    .default('buckets')
    .describe('buckets: kohya aspect-ratio buckets; square: one square crop per image.'),
  resolution: ui(z.number().int().min(64).max(4096).default(512), { widget: 'slider', step: 64 }).describe(
    'Square size, or the bucket base area (resolution²).',
  ),
  crop: z
    .enum(['center', 'attention', 'entropy'])
    .default('center')
    .describe('Where the crop goes: centre (kohya), the most salient region, or the busiest region.'),
  upscale: z
    .enum(['allow', 'warn', 'forbid'])
    .default('warn')
    .describe(
      'Images smaller than their target: enlarge (allow), enlarge and warn (warn), or never enlarge ' +
        '(forbid: kohya bucket_no_upscale in bucket mode; small images dropped in square mode).',
    ),
  minBucket: ui(z.number().int().min(64).max(8192).default(256), { group: 'advanced', step: 64 }),
  maxBucket: ui(z.number().int().min(64).max(8192).default(1024), { group: 'advanced', step: 64 }),
  bucketStep: ui(z.number().int().min(8).max(256).default(64), { group: 'advanced', step: 8 }),
  filter: ui(z.enum(['lanczos3', 'lanczos2', 'mitchell', 'cubic', 'linear', 'nearest']).default('lanczos3'), {
    group: 'advanced',
  }).describe('Resampling kernel.'),
  alpha: z
    .enum(['flatten', 'mask'])
    .default('flatten')
    .describe('Transparent images: flatten onto the background colour, or keep alpha as a loss mask.'),
  background: ui(
    z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'use a #rrggbb colour')
      .default('#ffffff'),
    { widget: 'color' },
  ),
  pngCompression: ui(z.number().int().min(0).max(9).default(6), { group: 'advanced' }).describe(
    'zlib level of the output PNGs: lower is faster and larger.',
  ),
});
type Params = z.infer<typeof params>;

type Processed =
  | {
      ok: true;
      hash: string;
      width: number;
      height: number;
      crop: { left: number; top: number };
      upscaled: boolean;
      alpha: boolean;
    }
  | { ok: false; reason: string };

function settingsOf(p: Params): CropSettings {
  if (p.mode === 'square') return { mode: 'square', size: p.resolution, upscale: p.upscale };
  return {
    mode: 'buckets',
    upscale: p.upscale,
    bucket: {
      width: p.resolution,
      height: p.resolution,
      min: p.minBucket,
      max: p.maxBucket,
      step: p.bucketStep,
    },
  };
}

/**
 * Resizes and crops one image in one sharp pipeline (decode, orient, resize, crop, PNG encode); the geometry
 * comes from `planCrop`. Previews are made on request by the server (`/api/artifacts/:hash/thumbnail`), so
 * none is encoded here.
 */
export async function processImage(
  data: Buffer | string,
  item: Pick<ImageItem, 'width' | 'height'>,
  p: Params,
): Promise<
  | {
      png: Buffer;
      width: number;
      height: number;
      crop: { left: number; top: number };
      upscaled: boolean;
      alpha: boolean;
    }
  | { error: string }
> {
  const plan = planCrop({ width: item.width, height: item.height }, settingsOf(p));
  if (!plan.ok) return { error: plan.reason };
  // Only the alpha mask mode needs to know about alpha up front; flatten() leaves opaque images alone.
  const keepAlpha = p.alpha === 'mask' && (await openImage(data).metadata()).hasAlpha === true;
  // `rotate()` applies the EXIF orientation: Load Images records oriented sizes but stores the file's bytes.
  let img = openImage(data).rotate();
  if (!keepAlpha) img = img.flatten({ background: p.background });
  let crop = plan.crop;
  if (p.crop === 'center') {
    img = img.resize(plan.resized.width, plan.resized.height, { fit: 'fill', kernel: p.filter }).extract({
      left: plan.crop.left,
      top: plan.crop.top,
      width: plan.bucket.width,
      height: plan.bucket.height,
    });
  } else {
    img = img.resize(plan.bucket.width, plan.bucket.height, {
      fit: 'cover',
      kernel: p.filter,
      position: p.crop === 'attention' ? sharp.strategy.attention : sharp.strategy.entropy,
    });
  }
  const { data: png, info } = await img
    .png({ compressionLevel: p.pngCompression })
    .toBuffer({ resolveWithObject: true });
  if (info.cropOffsetLeft !== undefined || info.cropOffsetTop !== undefined) {
    crop = { left: Math.abs(info.cropOffsetLeft ?? 0), top: Math.abs(info.cropOffsetTop ?? 0) };
  }
  return {
    png,
    width: info.width,
    height: info.height,
    crop,
    upscaled: plan.upscaled,
    alpha: keepAlpha,
  };
}

const firstLine = (e: unknown) => (e as Error).message.split('\n')[0];

// libvips' error buffer is shared by concurrent pipelines: a decode error sometimes surfaces only as one of these.
const GENERIC_VIPS_ERROR = /unable to write to target|Warning treated as error due to failOn setting/;

/**
 * Why an item failed, with the decoder's own reason ("Corrupt JPEG data: bad Huffman code") rather than the
 * generic messages above: the input is decoded on its own, a few times while the answer stays generic.
 */
async function failureReason(data: Buffer, e: unknown): Promise<string> {
  let reason = firstLine(e) ?? 'unknown error';
  for (let attempt = 0; attempt < 3 && GENERIC_VIPS_ERROR.test(reason); attempt++) {
    try {
      await openImage(data).raw().toBuffer();
      return reason;
    } catch (decode) {
      reason = firstLine(decode) ?? reason;
    }
  }
  return reason;
}

export const cropResize = defineNode({
  type: 'loraflow/image/crop-resize',
  version: '1.0.0',
  title: TITLE,
  category: 'image',
  description:
    'Crops and resizes images to a square or to kohya aspect-ratio buckets (closest aspect ratio, scale to ' +
    'cover, centre crop), as PNG. Reports the bucket histogram and which images were enlarged.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { images: { type: 'IMAGES' } },
  params,
  async run(ctx, inputs, p) {
    if (p.mode === 'buckets') {
      const v = validateBucketConfig({
        width: p.resolution,
        height: p.resolution,
        min: p.minBucket,
        max: p.maxBucket,
        step: p.bucketStep,
        noUpscale: false,
      });
      if (!v.ok) throw new Error(`${TITLE}: buckets: ${v.reason}`);
    }
    const items = inputs.images.items;
    const results = await ctx.itemCache.map(items, {
      key: (it) => `${it.hash}:${it.width}x${it.height}`,
      salt: p,
      // One long sharp pipeline per item: one item per pool thread keeps them all busy.
      concurrency: LIBUV_POOL_SIZE,
      run: async (it): Promise<Processed> => {
        // One read of the blob, hash-checked as it is read (a missing or corrupt blob fails the node and is
        // recomputed upstream instead of being dropped or used); sharp decodes those same bytes.
        const data = await ctx.store.get(it.hash);
        let out: Awaited<ReturnType<typeof processImage>>;
        try {
          out = await processImage(data, it, p);
        } catch (e) {
          return { ok: false, reason: `could not be processed (${await failureReason(data, e)})` };
        }
        if ('error' in out) return { ok: false, reason: out.error };
        // Outside the try: a failed write (disk full) is the node's failure, not a bad image to skip.
        const hash = await ctx.store.put(out.png, { contentType: 'image/png' });
        const { width, height, crop, upscaled, alpha } = out;
        return { ok: true, hash, width, height, crop, upscaled, alpha };
      },
      onItem: (done, total) => ctx.progress(done, total, `resizing ${done}/${total}`),
    });

    const out: ImageItem[] = [];
    const histogram: Record<string, number> = {};
    const upscaled: string[] = [];
    const dropped: string[] = [];
    const previews: { hash: string; caption: string; label: string }[] = [];
    for (const [i, it] of items.entries()) {
      const r = results[i]!;
      const name = it.source ?? it.hash.slice(0, 12);
      if (!r.ok) {
        dropped.push(`${name}: ${r.reason}`);
        continue;
      }
      const key = bucketKey(r);
      histogram[key] = (histogram[key] ?? 0) + 1;
      if (r.upscaled) upscaled.push(name);
      const next: ImageItem = {
        ...it,
        hash: r.hash,
        width: r.width,
        height: r.height,
        format: 'png',
        original: it.original ?? { width: it.width, height: it.height },
        crop: r.crop,
      };
      if (r.alpha) next.hasAlphaMask = true;
      else delete next.hasAlphaMask;
      out.push(next);
      previews.push({ hash: r.hash, caption: it.caption, label: `${name} → ${key}` });
    }
    if (upscaled.length > 0 && p.upscale === 'warn') {
      ctx.log.warn(
        `${TITLE}: ${upscaled.length} image(s) are smaller than their target and were enlarged (may look soft): ${upscaled.join(', ')}`,
      );
    }
    if (dropped.length > 0) {
      ctx.log.warn(`${TITLE}: ${dropped.length} image(s) left out: ${dropped.join('; ')}`);
    }
    if (out.length === 0 && items.length > 0) {
      throw new Error(`${TITLE}: no image could be processed: ${dropped.join('; ')}`);
    }
    return {
      outputs: { images: { kind: 'images', items: out } },
      display: {
        count: out.length,
        buckets: Object.keys(histogram).length,
        histogram: Object.fromEntries(
          Object.entries(histogram).sort(([a], [b]) => {
            const [aw, ah] = a.split('x').map(Number) as [number, number];
            const [bw, bh] = b.split('x').map(Number) as [number, number];
            return aw - bw || ah - bh;
          }),
        ),
        upscaledCount: upscaled.length,
        upscaled,
        dropped,
        images: previews,
      },
    };
  },
});
