import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { pngStructureProblem } from './pngStructure.ts';

const png = () =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: '#3080c0' } })
    .png()
    .toBuffer();

describe('pngStructureProblem', () => {
  it('accepts a whole PNG', async () => {
    expect(pngStructureProblem(await png())).toBeUndefined();
  });

  it('names a truncated file, a flipped bit and a missing IEND', async () => {
    const whole = await png();
    expect(pngStructureProblem(whole.subarray(0, whole.length - 20))).toMatch(/runs past the end/);
    // IEND is the last 12 bytes: cut exactly before it.
    expect(pngStructureProblem(whole.subarray(0, whole.length - 12))).toMatch(/ends before its IEND/);
    const flipped = Buffer.from(whole);
    const idat = flipped.indexOf('IDAT');
    flipped[idat + 6]! ^= 0x01;
    expect(pngStructureProblem(flipped)).toMatch(/bad CRC in chunk IDAT/);
    expect(pngStructureProblem(Buffer.from('not a png at all'))).toMatch(/not a PNG/);
  });
});
