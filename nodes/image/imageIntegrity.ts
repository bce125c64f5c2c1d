import { pngStructureProblem } from '../png/pngStructure.ts';
import { jpegStructureProblem } from './jpegStructure.ts';
import { openImage } from './openImage.ts';

/**
 * Whether an image file is whole, as cheaply as its format allows. JPEG and PNG (most datasets) get a
 * structural check of their markers or chunks, far cheaper than a decode; whatever that cannot see (garbage
 * inside a JPEG's entropy-coded data) fails the decode of the node that uses the pixels, which names and skips
 * the file. Other formats are decoded small (shrink-on-load where the format allows): sharp's default
 * `failOn: 'warning'` makes a truncated or corrupt file throw. Returns the problem, or undefined.
 * `format` is sharp's metadata format.
 */
export async function imageIntegrityProblem(
  data: Buffer,
  format: string | undefined,
): Promise<string | undefined> {
  if (format === 'jpeg') return jpegStructureProblem(data);
  if (format === 'png') return pngStructureProblem(data);
  await openImage(data).resize(64, 64, { fit: 'inside', withoutEnlargement: true }).raw().toBuffer();
  return undefined;
}
