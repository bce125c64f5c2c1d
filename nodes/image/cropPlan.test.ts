import { describe, expect, it } from 'vitest';
import { planCrop } from './cropPlan.ts';

describe('planCrop', () => {
  it('square: cover then centre crop', () => {
    expect(planCrop({ width: 600, height: 300 }, { mode: 'square', size: 512, upscale: 'warn' })).toEqual({
      ok: true,
      bucket: { width: 512, height: 512 },
      resized: { width: 1024, height: 512 },
      crop: { left: 256, top: 0 },
      upscaled: true,
    });
  });

  it('square + forbid drops small images', () => {
    const r = planCrop({ width: 300, height: 900 }, { mode: 'square', size: 512, upscale: 'forbid' });
    expect(r).toMatchObject({ ok: false });
  });

  it('buckets + forbid drops images smaller than one step', () => {
    const bucket = { width: 512, height: 512, min: 256, max: 1024, step: 64 };
    expect(planCrop({ width: 50, height: 500 }, { mode: 'buckets', bucket, upscale: 'forbid' }).ok).toBe(
      false,
    );
    expect(planCrop({ width: 50, height: 500 }, { mode: 'buckets', bucket, upscale: 'allow' }).ok).toBe(true);
  });
});
