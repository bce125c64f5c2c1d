import { describe, expect, it } from 'vitest';
import { trainBuckets, trainParams } from './trainParams.ts';

const defaults = trainParams.parse({});

describe('LoRA Train resolution and buckets', () => {
  it('default to auto: the model size, buckets from half to twice it', () => {
    expect(defaults).toMatchObject({ resolution: 'auto', min_bucket_reso: 'auto', max_bucket_reso: 'auto' });
    const on = (arch: Parameters<typeof trainBuckets>[1]) => {
      const { text: _text, ...b } = trainBuckets(defaults, arch);
      return b;
    };
    // kohya's SD1 defaults exactly.
    expect(on('sd1')).toEqual({ resolution: 512, min: 256, max: 1024 });
    expect(on('sd2')).toEqual({ resolution: 512, min: 256, max: 1024 });
    expect(on('sd2-v')).toEqual({ resolution: 768, min: 384, max: 1536 });
    // SDXL: 1024² bucket area.
    expect(on('sdxl')).toEqual({ resolution: 1024, min: 512, max: 2048 });
    expect(trainBuckets(defaults, 'sdxl').text).toBe(
      '1024x1024 (auto for sdxl), buckets 512 to 2048 px (auto)',
    );
  });

  it('auto bounds follow an explicit resolution, rounding the minimum down to the 64 px step', () => {
    const b = trainBuckets({ ...defaults, resolution: 576 }, 'sdxl');
    expect([b.resolution, b.min, b.max]).toEqual([576, 256, 1152]);
    expect(b.text).toBe('576x576, buckets 256 to 1152 px (auto)');
    const tiny = trainBuckets({ ...defaults, resolution: 64 }, 'sd1');
    expect([tiny.min, tiny.max]).toEqual([64, 128]);
  });

  it('numbers saved by older workflows keep their meaning, whatever the model', () => {
    const old = trainParams.parse({ resolution: 512, min_bucket_reso: 256, max_bucket_reso: 1024 });
    for (const arch of ['sd1', 'sd2-v', 'sdxl'] as const) {
      const b = trainBuckets(old, arch);
      expect([b.resolution, b.min, b.max]).toEqual([512, 256, 1024]);
      expect(b.text).toBe('512x512, buckets 256 to 1024 px');
    }
    const mixed = trainBuckets({ ...defaults, max_bucket_reso: 1536 }, 'sdxl');
    expect([mixed.min, mixed.max]).toEqual([512, 1536]);
    expect(mixed.text).toBe('1024x1024 (auto for sdxl), buckets 512 to 1536 px (min auto)');
  });

  it('rejects a minimum above the maximum, naming both params', () => {
    expect(() => trainBuckets({ ...defaults, resolution: 512, min_bucket_reso: 1536 }, 'sdxl')).toThrow(
      /min_bucket_reso \(1536\) is larger than max_bucket_reso \(1024\)/,
    );
    expect(trainParams.safeParse({ resolution: 500 }).success).toBe(false);
    expect(trainParams.safeParse({ min_bucket_reso: 'min' }).error?.issues[0]?.message).toMatch(
      /^a number or "auto" \("auto" = half the resolution/,
    );
  });
});
