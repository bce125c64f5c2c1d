import { pngStructureProblem } from '../png/pngStructure.ts';
import { jpegStructureProblem } from './jpegStructure.ts';
import { openImage } from './openImage.ts';

/**
 * Whether an image file is whole, as cheaply as its format allows. JPEG and PNG (most datasets) get a
 * structural check of their markers or chunks, far cheaper than a decode; whatever that cannot see (garbage
 * inside a JPEG's entropy-coded data) fails the decode of the node that uses the pixels, which names and skips
 * the file. Other formats are decoded small (shrink-on-load where the format allows): sharp's default
 * `failOn: 'warning'` makes a truncated or corrupt file throw. Returns the problem, or undefined; throws the
 * decoder's error for formats without a structural check.
 * `format` is sharp's metadata format.
 */
const STRUCTURE_WALKS: Readonly<Record<string, (data: Buffer) => string | undefined>> = {
  jpeg: jpegStructureProblem,
  png: pngStructureProblem,
};

export async function imageIntegrityProblem(
  data: Buffer,
  format: string | undefined,
): Promise<string | undefined> {
  const walk = format ? STRUCTURE_WALKS[format] : undefined;
  const problem = walk?.(data);
  if (walk && problem === undefined) return undefined;
  // The structure walk is only a fast path: a file it doubts (or cannot check) gets the decoder's verdict, so
  // a file sharp reads is never skipped, and a broken one keeps the walk's more precise message.
  try {
    await openImage(data).resize(64, 64, { fit: 'inside', withoutEnlargement: true }).raw().toBuffer();
  } catch (e) {
    if (problem !== undefined) return problem;
    throw e;
  }
  return undefined;
}
