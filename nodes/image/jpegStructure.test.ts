import { describe, expect, it } from 'vitest';
import { garbleJpegScan, gradientImage } from '../../tests/dataset/fixture.ts';
import { jpegStructureProblem } from './jpegStructure.ts';

const jpeg = async (o: { progressive?: boolean } = {}) => (await gradientImage(320, 240)).jpeg(o).toBuffer();

/** SOI, a segment, SOS, the given scan bytes, then `tail` (EOI by default). */
function handMade(scan: number[], tail = [0xff, 0xd9]): Buffer {
  const app0 = [0xff, 0xe0, 0x00, 0x04, 0x41, 0x42];
  const sos = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00];
  return Buffer.from([0xff, 0xd8, ...app0, ...sos, ...scan, ...tail]);
}

describe('jpegStructureProblem', () => {
  it('accepts whole baseline and progressive JPEGs, and bytes after the end-of-image marker', async () => {
    expect(jpegStructureProblem(await jpeg())).toBeUndefined();
    expect(jpegStructureProblem(await jpeg({ progressive: true }))).toBeUndefined();
    // Motion photos append a video after EOI.
    expect(jpegStructureProblem(Buffer.concat([await jpeg(), Buffer.from('ftypmp42 trailing video')]))).toBe(
      undefined,
    );
  });

  it('walks stuffed bytes, restart markers and fill bytes inside the scan', () => {
    expect(jpegStructureProblem(handMade([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xff]))).toBe(
      undefined,
    );
  });

  it('names truncation wherever the file was cut', async () => {
    const whole = await jpeg({ progressive: true });
    for (const cut of [3, 10, 200, Math.floor(whole.length / 2), whole.length - 2, whole.length - 1]) {
      expect(jpegStructureProblem(whole.subarray(0, cut)), `cut at ${cut}`).toMatch(/truncated/);
    }
  });

  it('refuses files that are not JPEG or whose segments do not line up', () => {
    expect(jpegStructureProblem(Buffer.from('this is not a jpeg'))).toMatch(/no JPEG start-of-image/);
    // EOI straight after the header segments: nothing to decode.
    expect(jpegStructureProblem(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x02, 0xff, 0xd9]))).toMatch(
      /no image data/,
    );
    // A segment length that points into the middle of nowhere.
    expect(
      jpegStructureProblem(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x03, 0x00, 0x12, 0xff, 0xd9])),
    ).toMatch(/no marker where one belongs \(byte 7\)/);
    expect(jpegStructureProblem(handMade([0x12], [0xff, 0xd8]))).toMatch(/unexpected marker 0xffd8/);
  });

  it('cannot see garbage inside the entropy-coded data (the decode in Crop/Resize does)', async () => {
    const garbled = garbleJpegScan(await jpeg());
    expect(jpegStructureProblem(garbled)).toBeUndefined();
  });
});
