import { PngFormatError, readChunks } from './textChunks.ts';

/**
 * Checks a PNG's structure without decoding pixels: the signature, IHDR first, every chunk's length and CRC,
 * image data present and the IEND chunk. Truncated and bit-damaged files fail here; a file written broken
 * (a bad zlib stream under correct CRCs) fails in the decode that uses it. Returns the problem, or undefined.
 */
export function pngStructureProblem(data: Uint8Array): string | undefined {
  let chunks: ReturnType<typeof readChunks>;
  try {
    chunks = readChunks(data);
  } catch (e) {
    if (e instanceof PngFormatError) return e.message;
    throw e;
  }
  if (!chunks.some((c) => c.type === 'IDAT')) return 'no image data (no IDAT chunk)';
  if (chunks.at(-1)?.type !== 'IEND') return 'truncated: the file ends before its IEND chunk';
  return undefined;
}
