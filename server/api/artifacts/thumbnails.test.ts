import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../tests/helpers/tempDir.ts';
import { createArtifactStore, type FileArtifactStore } from '../../store/artifactStore.ts';
import { type AppDatabase, openDatabase } from '../../store/database.ts';
import { createThumbnailer, NotAnImageError } from './thumbnails.ts';

let tmp: ReturnType<typeof makeTempDir>;
let db: AppDatabase;
let store: FileArtifactStore;

beforeEach(() => {
  tmp = makeTempDir('loraflow-thumbs-');
  db = openDatabase(join(tmp.dir, 'data'));
  store = createArtifactStore(db);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .png()
    .toBuffer();

describe('thumbnails made on request', () => {
  it('stores a JPEG at most 160 px a side, and serves the same one again', async () => {
    const source = await store.put(await png(640, 384));
    const thumbnailOf = createThumbnailer(store);
    const thumb = await thumbnailOf(source);
    const meta = await sharp(await store.get(thumb)).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 160, height: 96 });
    expect(store.meta(thumb)?.contentType).toBe('image/jpeg');
    const before = store.usage().count;
    expect(await thumbnailOf(source)).toBe(thumb);
    expect(store.usage().count).toBe(before);
    // A small image is not enlarged.
    const small = await thumbnailOf(await store.put(await png(40, 30)));
    expect(await sharp(await store.get(small)).metadata()).toMatchObject({ width: 40, height: 30 });
  });

  it('re-makes a thumbnail whose blob was collected', async () => {
    const source = await store.put(await png(320, 320));
    const thumbnailOf = createThumbnailer(store);
    const thumb = await thumbnailOf(source);
    store.evict(thumb);
    expect(store.has(thumb)).toBe(false);
    expect(await thumbnailOf(source)).toBe(thumb);
    expect(store.has(thumb)).toBe(true);
  });

  it('refuses a blob that is not an image', async () => {
    const text = await store.put(new TextEncoder().encode('not an image'));
    const err = await createThumbnailer(store)(text).catch((e: Error) => e);
    expect((err as Error).cause).toBeInstanceOf(NotAnImageError);
  });
});
