import { describe, expect, it } from 'vitest';
import {
  type BucketConfig,
  makeBuckets,
  selectBucket,
  squareCover,
  validateBucketConfig,
} from './buckets.ts';

const kohya512: BucketConfig = { width: 512, height: 512, min: 256, max: 1024, step: 64, noUpscale: false };

describe('makeBuckets (kohya make_bucket_resolutions)', () => {
  it('gives the 17 buckets of 512² area, min 256, max 1024, step 64', () => {
    // Worked by hand: for w = 256..1024 step 64, h = min(1024, floor(floor(262144 / w) / 64) * 64):
    // 256→1024, 320→768, 384→640, 448→576, 512→512, 576→448, 640→384, 704→320, 768→320, 832..1024→256.
    expect(makeBuckets(kohya512).map((b) => `${b.width}x${b.height}`)).toEqual([
      '256x832',
      '256x896',
      '256x960',
      '256x1024',
      '320x704',
      '320x768',
      '384x640',
      '448x576',
      '512x512',
      '576x448',
      '640x384',
      '704x320',
      '768x320',
      '832x256',
      '896x256',
      '960x256',
      '1024x256',
    ]);
  });

  it('never exceeds the area or the limits', () => {
    for (const b of makeBuckets({ width: 768, height: 768, min: 320, max: 1536, step: 64 })) {
      expect(b.width * b.height).toBeLessThanOrEqual(768 * 768);
      expect(Math.min(b.width, b.height)).toBeGreaterThanOrEqual(320);
      expect(Math.max(b.width, b.height)).toBeLessThanOrEqual(1536);
      expect(b.width % 64).toBe(0);
      expect(b.height % 64).toBe(0);
    }
  });
});

describe('selectBucket (kohya select_bucket)', () => {
  // [image, bucket, resized, crop, upscaled], all worked by hand from the rules in buckets.ts.
  it.each([
    ['512x512', '512x512', '512x512', [0, 0], false], // exact bucket
    ['1536x1024', '640x384', '640x427', [0, 21], false], // ar 1.5: 640/384=1.667 (err .167) beats 576/448 (err .214)
    ['1024x1536', '384x640', '427x640', [21, 0], false], // transposed
    ['1000x1000', '512x512', '512x512', [0, 0], false],
    ['4000x1000', '1024x256', '1024x256', [0, 0], false], // ar 4 exactly
    ['3000x500', '1024x256', '1536x256', [256, 0], false], // ar 6: widest bucket, scale by height, crop sides
    ['300x200', '640x384', '640x427', [0, 21], true], // small image enlarged
    ['768x320', '768x320', '768x320', [0, 0], false], // exact bucket wins over 704x320
    ['700x320', '704x320', '704x322', [0, 1], true], // ar 2.1875: 704/320=2.2; scale 704/700
  ] as const)('%s → %s (resized %s)', (img, bucket, resized, crop, upscaled) => {
    const [w, h] = img.split('x').map(Number) as [number, number];
    const a = selectBucket({ width: w, height: h }, kohya512);
    expect(`${a.bucket.width}x${a.bucket.height}`).toBe(bucket);
    expect(`${a.resized.width}x${a.resized.height}`).toBe(resized);
    expect([a.crop.left, a.crop.top]).toEqual(crop);
    expect(a.upscaled).toBe(upscaled);
  });

  it.each([
    ['1536x1024', '576x384', '576x384', [0, 0]], // shrunk to the area: both roundings give ar 1.5
    ['2000x1000', '640x320', '640x320', [0, 0]], // height rounding (ar 2.0) beats width rounding (704/320=2.2)
    ['1000x1000', '512x512', '512x512', [0, 0]],
    ['300x200', '256x192', '300x200', [22, 4]], // small: kept, bucket rounded down, centre crop
  ] as const)('noUpscale: %s → %s', (img, bucket, resized, crop) => {
    const [w, h] = img.split('x').map(Number) as [number, number];
    const a = selectBucket({ width: w, height: h }, { ...kohya512, noUpscale: true });
    expect(`${a.bucket.width}x${a.bucket.height}`).toBe(bucket);
    expect(`${a.resized.width}x${a.resized.height}`).toBe(resized);
    expect([a.crop.left, a.crop.top]).toEqual(crop);
    expect(a.upscaled).toBe(false);
  });

  it('always resizes to cover the bucket', () => {
    const buckets = makeBuckets(kohya512);
    for (let w = 64; w <= 4096; w += 97) {
      for (let h = 64; h <= 4096; h += 131) {
        const a = selectBucket({ width: w, height: h }, kohya512, buckets);
        expect(a.resized.width).toBeGreaterThanOrEqual(a.bucket.width);
        expect(a.resized.height).toBeGreaterThanOrEqual(a.bucket.height);
        const b = selectBucket({ width: w, height: h }, { ...kohya512, noUpscale: true });
        expect(b.resized.width).toBeLessThanOrEqual(w);
        expect(b.resized.height).toBeLessThanOrEqual(h);
        expect(b.bucket.width % 64).toBe(0);
      }
    }
  });
});

describe('squareCover and validation', () => {
  it('scales the short side to the size', () => {
    expect(squareCover({ width: 1536, height: 1024 }, 512)).toEqual({
      resized: { width: 768, height: 512 },
      upscaled: false,
    });
    expect(squareCover({ width: 200, height: 400 }, 512)).toEqual({
      resized: { width: 512, height: 1024 },
      upscaled: true,
    });
  });

  it('refuses bad configs', () => {
    expect(validateBucketConfig({ ...kohya512, min: 2048 }).ok).toBe(false);
    expect(validateBucketConfig({ ...kohya512, min: 250 }).ok).toBe(false);
    expect(validateBucketConfig(kohya512).ok).toBe(true);
  });
});
