import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  baseSpecs,
  conceptSpecs,
  IMAGE_SIZE,
  renderSpec,
  type ShapeSpec,
} from '../../scripts/demo/dataset.ts';
import { evaluateImage, evaluateRgb } from '../../scripts/demo/evaluate.ts';
import { Prng } from '../../scripts/demo/prng.ts';

/** Per-class accuracy of shape and colour over the specs, with `distort` applied to each rendered image. */
function accuracy(specs: ShapeSpec[], distort: (rgb: Uint8Array, i: number) => Uint8Array = (x) => x) {
  const shape = new Map<string, { ok: number; n: number }>();
  const color = new Map<string, { ok: number; n: number }>();
  const tally = (m: typeof shape, key: string, ok: boolean) => {
    const t = m.get(key) ?? { ok: 0, n: 0 };
    t.n++;
    if (ok) t.ok++;
    m.set(key, t);
  };
  specs.forEach((s, i) => {
    const e = evaluateRgb(distort(renderSpec(s), i), IMAGE_SIZE, IMAGE_SIZE);
    tally(shape, s.shape, e.shape === s.shape);
    tally(color, s.color, e.color === s.color);
  });
  const rate = (m: typeof shape) =>
    Object.fromEntries([...m].sort().map(([k, t]) => [k, Math.round((t.ok / t.n) * 1000) / 1000]));
  return { shape: rate(shape), color: rate(color) };
}

/** Uniform noise of ±amplitude per channel, from a seeded PRNG (a stand-in for a model's sampling noise). */
function noisy(amplitude: number, seed: number) {
  return (rgb: Uint8Array, i: number) => {
    const rng = new Prng(seed + i);
    return rgb.map((v) => Math.max(0, Math.min(255, Math.round(v + (rng.next() * 2 - 1) * amplitude))));
  };
}

describe('demo evaluator', () => {
  const specs = [...baseSpecs(101, 126), ...conceptSpecs(101, 16)];

  it('classifies clean generated images by shape and colour (every class 100%)', () => {
    const acc = accuracy(specs);
    console.log('evaluator accuracy, clean images:', JSON.stringify(acc));
    for (const v of [...Object.values(acc.shape), ...Object.values(acc.color)]) expect(v).toBe(1);
    expect(Object.keys(acc.shape)).toHaveLength(7);
    expect(Object.keys(acc.color)).toHaveLength(8);
  });

  it('stays accurate on noisy images (±40 per channel)', () => {
    const acc = accuracy(specs, noisy(40, 7));
    console.log('evaluator accuracy, ±40 noise:', JSON.stringify(acc));
    for (const v of [...Object.values(acc.shape), ...Object.values(acc.color)])
      expect(v).toBeGreaterThanOrEqual(0.9);
  });

  it('separates the concept: star-yellow fraction and star correlation', () => {
    const stars = conceptSpecs(202, 16).map((s) => evaluateRgb(renderSpec(s), IMAGE_SIZE, IMAGE_SIZE));
    const others = baseSpecs(202, 42).map((s) => evaluateRgb(renderSpec(s), IMAGE_SIZE, IMAGE_SIZE));
    const minStar = Math.min(...stars.map((e) => e.starCorrelation));
    const maxOther = Math.max(...others.map((e) => e.starCorrelation));
    console.log(`star correlation: stars ≥ ${minStar.toFixed(3)}, other shapes ≤ ${maxOther.toFixed(3)}`);
    expect(minStar).toBeGreaterThan(0.8);
    expect(maxOther).toBeLessThan(minStar - 0.1);
    for (const e of stars) expect(e.starYellowFraction).toBeGreaterThan(0.015);
    for (const e of others) expect(e.starYellowFraction).toBe(0);
  });

  it('reports no object on a blank image, and reads PNGs of other sizes', async () => {
    const blank = evaluateRgb(new Uint8Array(IMAGE_SIZE * IMAGE_SIZE * 3).fill(128), IMAGE_SIZE, IMAGE_SIZE);
    expect(blank).toMatchObject({ shape: null, color: null, objectFraction: 0, starYellowFraction: 0 });
    expect(blank.background).toEqual(['grey']);

    const spec = conceptSpecs(9, 10).find((s) => s.background.kind === 'plain')!;
    const big = await sharp(renderSpec(spec), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 3 } })
      .resize(256, 256, { kernel: 'nearest' })
      .png()
      .toBuffer();
    const e = await evaluateImage(big);
    expect([e.width, e.height, e.shape, e.color]).toEqual([64, 64, 'star', 'yellow']);
    expect(e.background).toEqual([spec.background.kind === 'plain' ? spec.background.color : '']);
  });
});
