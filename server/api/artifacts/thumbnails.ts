import { makeThumbnail, THUMBNAIL_SIZE } from '../../../nodes/image/thumbnail.ts';
import type { FileArtifactStore } from '../../store/artifactStore.ts';
import { createItemCache } from '../../store/itemCache.ts';

export class NotAnImageError extends Error {
  override readonly name = 'NotAnImageError';
}

/**
 * Thumbnails made on first request: nodes list the images they output, and only the previews somebody looks
 * at are ever encoded (a 300-image Crop/Resize run used to encode 300 of them while the node shows 12).
 * The per-item cache remembers source → thumbnail, and re-makes a thumbnail whose blob was collected.
 * Returns the thumbnail's artifact hash.
 */
export function createThumbnailer(store: FileArtifactStore): (hash: string) => Promise<string> {
  const cache = createItemCache({
    db: store.db,
    store,
    nodeType: 'loraflow/server/thumbnail',
    nodeVersion: '1.0.0',
  });
  const make = async (hash: string): Promise<string> => {
    const data = await store.get(hash);
    let jpeg: Buffer;
    try {
      jpeg = await makeThumbnail(data);
    } catch (e) {
      throw new NotAnImageError((e as Error).message.split('\n')[0] ?? 'not an image', { cause: e });
    }
    return store.put(jpeg, { contentType: 'image/jpeg', label: `thumbnail of ${hash.slice(0, 12)}` });
  };
  return async (hash) => {
    const [thumb] = await cache.map([hash], {
      key: (h) => h,
      salt: { size: THUMBNAIL_SIZE },
      run: make,
    });
    return thumb!;
  };
}
