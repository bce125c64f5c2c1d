import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { formatA1111Parameters, parseA1111Parameters } from './a1111.ts';
import { crc32 } from './crc32.ts';
import { encodeTextChunk, getPngText, PngFormatError, readPngText, withPngText } from './textChunks.ts';

async function png(): Promise<Buffer> {
  return sharp({ create: { width: 4, height: 3, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('PNG text chunks', () => {
  it('writes chunks that sharp still decodes and reads them back', async () => {
    const workflow = JSON.stringify({ version: 1, nodes: [{ id: 'a', type: 'loraflow/save/images' }] });
    const out = withPngText(await png(), { 'loraflow.workflow': workflow, parameters: 'a cat\nSteps: 20' });
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([4, 3]);
    const raw = await sharp(out).raw().toBuffer();
    expect([...raw.subarray(0, 3)]).toEqual([0x33, 0x66, 0x99]);
    expect(getPngText(out, 'loraflow.workflow')).toBe(workflow);
    expect(getPngText(out, 'parameters')).toBe('a cat\nSteps: 20');
    // Placed before the image data, right after IHDR.
    expect(out.indexOf('tEXt')).toBeLessThan(out.indexOf('IDAT'));
  });

  it('uses iTXt for non-Latin-1 text and zTXt/compressed iTXt for long text', async () => {
    const base = await png();
    const out = withPngText(base, { a: '猫 🐱', b: 'x'.repeat(5000), c: 'é'.repeat(2000) + '猫' });
    const chunks = readPngText(out);
    expect(chunks.map((c) => [c.keyword, c.type])).toEqual([
      ['a', 'iTXt'],
      ['b', 'zTXt'],
      ['c', 'iTXt'],
    ]);
    expect(chunks[0]?.text).toBe('猫 🐱');
    expect(chunks[1]?.text).toBe('x'.repeat(5000));
    expect(out.length).toBeLessThan(base.length + 3000);
    await sharp(out).raw().toBuffer();
  });

  it('replaces chunks with the same keyword and keeps others', async () => {
    const once = withPngText(await png(), { parameters: 'one', keep: 'me' });
    const twice = withPngText(once, { parameters: 'two' });
    expect(readPngText(twice).map((c) => `${c.keyword}=${c.text}`)).toEqual(['parameters=two', 'keep=me']);
  });

  it('refuses bad keywords and corrupt PNGs', async () => {
    expect(() => encodeTextChunk('', 'x')).toThrow(/keyword/);
    expect(() => encodeTextChunk('a'.repeat(80), 'x')).toThrow(/keyword/);
    expect(() => readPngText(Buffer.from('not a png'))).toThrow(PngFormatError);
    const bad = Buffer.from(withPngText(await png(), { k: 'v' }));
    const at = bad.indexOf('tEXt') + 6;
    bad[at] = (bad[at] ?? 0) ^ 0xff;
    expect(() => readPngText(bad)).toThrow(/CRC/);
  });
});

describe('A1111 parameters', () => {
  it('round-trips prompt, negative prompt and settings', () => {
    const p = {
      prompt: 'sks dog, on a beach',
      negativePrompt: 'blurry',
      settings: {
        Steps: 20,
        Sampler: 'Euler a',
        'CFG scale': 7.5,
        Seed: 42,
        Size: '512x512',
        Model: 'sd, v1.5',
      },
    };
    const text = formatA1111Parameters(p);
    expect(text).toBe(
      'sks dog, on a beach\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: "sd, v1.5"',
    );
    expect(parseA1111Parameters(text)).toEqual(p);
  });
});
