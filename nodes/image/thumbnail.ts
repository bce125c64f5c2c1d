import { openImage } from './openImage.ts';

export const THUMBNAIL_SIZE = 160;

/**
 * A small JPEG preview, EXIF orientation applied. It decodes the whole image (shrink-on-load where the format
 * allows), and sharp's default `failOn: 'warning'` makes a truncated or corrupt file throw here.
 */
export async function makeThumbnail(input: Buffer | string, size = THUMBNAIL_SIZE): Promise<Buffer> {
  return openImage(input)
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 75 })
    .toBuffer();
}
