import { describe, expect, it } from 'vitest';
import { ema } from './ema.ts';

describe('EMA smoothing', () => {
  it('is the identity at weight 0 and bias-corrected otherwise', () => {
    expect(ema([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = ema([2, 2, 2], 0.9);
    for (const v of s) expect(v).toBeCloseTo(2, 12);
    const t = ema([0, 10], 0.5);
    expect(t[0]).toBe(0);
    expect(t[1]).toBeCloseTo((0.5 * 0 * 0.5 + 0.5 * 10) / (1 - 0.25), 12);
  });
  it('skips non-finite values', () => {
    expect(ema([1, Number.NaN, 1], 0.5)).toEqual([1, null, 1]);
  });
});
