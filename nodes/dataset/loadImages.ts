import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type sharp from 'sharp';
import { z } from 'zod';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { imageIntegrityProblem } from '../image/imageIntegrity.ts';
import { isPixelLimitError, MAX_INPUT_PIXELS, openImage } from '../image/openImage.ts';
import { LIBUV_POOL_SIZE } from '../image/workerPool.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { mapLimit } from '../sdk/mapLimit.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { firstLine, parseKohyaFolderName } from './kohyaFolder.ts';
import { IMAGE_EXTENSIONS, type ScannedFile, scanImages } from './scan.ts';

const TITLE = 'Load Images';
/** Orientations 5-8 rotate by 90°, so the displayed width and height are swapped. */
const SWAPS_SIDES = new Set([5, 6, 7, 8]);

const params = z.object({
  folder: ui(z.string().min(1, 'choose a folder inside a dataset root'), {
    widget: 'folder',
    root: 'dataset',
    placeholder: 'e.g. mychar (holding 10_mychar woman/)',
  }),
  recursive: ui(z.boolean().default(false), { group: 'advanced' }).describe(
    'Off: the folder and its immediate subfolders (kohya layout). On: every depth.',
  ),
  kohyaLayout: z
    .boolean()
    .default(true)
    .describe('Read repeats, instance token and class from `N_instance class` folder names.'),
  captionExtension: z
    .enum(['.txt', '.caption'])
    .default('.txt')
    .describe('Caption sidecar extension (kohya).'),
  captionFallback: ui(z.enum(['none', 'folder']).default('none'), { group: 'advanced' }).describe(
    'For images without a caption file: leave the caption empty, or use the folder caption (kohya: `sks dog`).',
  ),
  regularization: ui(z.boolean().default(false), { group: 'advanced' }).describe(
    'Mark these images as regularization (class) images.',
  ),
});

type Loaded =
  | { ok: true; hash: string; width: number; height: number; format: string }
  | { ok: false; reason: string };

/**
 * Reads one file, checks it without decoding its pixels where the format allows (imageIntegrityProblem) and
 * stores its bytes. Crop/Resize decodes it once, later; the editor's previews are made on request by the
 * server (`/api/artifacts/:hash/thumbnail`), so none is made here.
 */
async function loadOne(
  abs: string,
  store: { put(d: Uint8Array, m?: object): Promise<string> },
): Promise<Loaded> {
  let data: Buffer;
  try {
    data = await readFile(abs);
  } catch (e) {
    return { ok: false, reason: `unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  if (data.length === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await openImage(data).metadata();
    if (!meta.width || !meta.height) return { ok: false, reason: 'not an image (no size)' };
  } catch (e) {
    return { ok: false, reason: badImageReason(e) };
  }
  // gif/webp report the height of all frames stacked when pages > 1; pageHeight is one frame.
  const h = meta.pageHeight && (meta.pages ?? 1) > 1 ? meta.pageHeight : meta.height;
  // The pixel limit is checked from the header: the structural checks below decode nothing that would.
  if (meta.width * h > MAX_INPUT_PIXELS) return { ok: false, reason: TOO_LARGE };
  try {
    const problem = await imageIntegrityProblem(data, meta.format);
    if (problem) return { ok: false, reason: `corrupt (${problem})` };
  } catch (e) {
    return { ok: false, reason: badImageReason(e) };
  }
  const swap = SWAPS_SIDES.has(meta.orientation ?? 1);
  // Outside the try: a failed store write (disk full) fails the node; it is not a bad image to skip and cache.
  const hash = await store.put(data, { label: basename(abs) });
  return {
    ok: true,
    hash,
    width: swap ? h : meta.width,
    height: swap ? meta.width : h,
    format: meta.format ?? extname(abs).slice(1),
  };
}

const TOO_LARGE = `too large: more than ${MAX_INPUT_PIXELS} pixels (a decompression bomb?); resize it`;

function badImageReason(e: unknown): string {
  if (isPixelLimitError(e)) return TOO_LARGE;
  const msg = (e as Error).message.split('\n')[0] ?? 'unknown error';
  return /unsupported image format/i.test(msg) ? 'not an image' : `corrupt (${msg})`;
}

async function readCaption(imageAbs: string, ext: string): Promise<string | undefined> {
  const path = imageAbs.slice(0, imageAbs.length - extname(imageAbs).length) + ext;
  try {
    return firstLine(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export const loadImages = defineNode({
  type: 'loraflow/dataset/load-images',
  version: '1.0.0',
  title: TITLE,
  category: 'dataset',
  description:
    'Loads a folder of images from a dataset root, understanding kohya layout (`10_sks dog/` = 10 repeats, ' +
    `instance "sks", class "dog") and caption sidecars. Formats: ${IMAGE_EXTENSIONS.join(' ')} (first GIF frame). ` +
    'Bad files are named in a warning and skipped. Items are keyed by file content, so renames keep caches.',
  inputs: {},
  outputs: { images: { type: 'IMAGES' } },
  params,
  // Reads files that can change between runs (folder contents / model files): always run; the per-item
  // cache keeps a re-run to the new or changed items, and unchanged outputs keep downstream caches.
  cache: 'never',
  async run(ctx, _inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const r = roots.resolve('dataset', p.folder);
    if (!r.ok) throw new Error(`${TITLE}: folder: ${r.reason}`);
    if (!r.exists)
      throw new Error(`${TITLE}: folder "${p.folder}" does not exist in the dataset roots; check the path`);
    if (!(await stat(r.path)).isDirectory())
      throw new Error(`${TITLE}: "${p.folder}" is a file; choose its folder`);

    const scan = await scanImages(r.path, {
      recursive: p.recursive,
      isAllowed: (abs) => roots.resolve('dataset', abs).ok,
      signal: ctx.signal,
    });
    if (scan.images.length === 0) {
      throw new Error(
        `${TITLE}: no images in "${p.folder}"${p.recursive ? '' : ' or its immediate subfolders'} ` +
          `(looked for ${IMAGE_EXTENSIONS.join(' ')})${p.recursive ? '' : '; turn on recursive for deeper folders'}`,
      );
    }

    const stats = await Promise.all(
      scan.images.map(async (f) => {
        try {
          const st = await stat(f.abs);
          return `${st.size}:${Math.floor(st.mtimeMs)}:${st.ino}`;
        } catch {
          return 'unreadable';
        }
      }),
    );
    const indexOf = new Map<ScannedFile, number>(scan.images.map((f, i) => [f, i]));
    const loaded = await ctx.itemCache.map(scan.images, {
      // File identity, not content: an unchanged file is not even re-read. The artifact hash in the result is
      // the content hash, so a renamed or touched file re-reads once and still hits every downstream cache.
      key: (f) => `${r.root}\0${r.rel}/${f.rel}\0${stats[indexOf.get(f)!]}`,
      // `check`: how a file was judged whole (entries from the decoding check also held a thumbnail).
      salt: { check: 'structure' },
      // Each item's pool work is short (file I/O, a header parse) between hashing and SQLite on the main
      // thread: twice the pool's threads in flight keep the pool busy.
      concurrency: 2 * LIBUV_POOL_SIZE,
      run: (f) => loadOne(f.abs, ctx.store),
      onItem: (done, total) => ctx.progress(done, total, `loading images ${done}/${total}`),
    });

    // Sidecars many at a time: read one by one, each read waited its turn in the I/O pool, which on a busy
    // machine made a cached re-run of a few hundred images take most of a second.
    const captions = await mapLimit(scan.images, 32, (f, i) =>
      loaded[i]!.ok ? readCaption(f.abs, p.captionExtension) : Promise.resolve(undefined),
    );
    const folderName = (relDir: string) => (relDir === '' ? basename(r.path) : relDir.split('/').at(-1)!);
    const unprefixed = new Set<string>();
    const bad: string[] = [];
    const items: ImageItem[] = [];
    const previews: { hash: string; caption: string; label: string }[] = [];
    for (const [i, f] of scan.images.entries()) {
      const res = loaded[i]!;
      if (!res.ok) {
        bad.push(`${f.rel} (${res.reason})`);
        continue;
      }
      const item: ImageItem = {
        hash: res.hash,
        width: res.width,
        height: res.height,
        format: res.format,
        caption: '',
        repeats: 1,
        source: [r.rel, f.rel].filter(Boolean).join('/'),
        regularization: p.regularization,
        original: { width: res.width, height: res.height },
      };
      let folderCaption = '';
      if (p.kohyaLayout) {
        const k = parseKohyaFolderName(folderName(f.dir));
        if (k.ok) {
          item.repeats = k.repeats;
          if (k.instance) item.instance = k.instance;
          if (k.className) item.className = k.className;
          folderCaption = k.caption;
        } else {
          unprefixed.add(f.dir === '' ? `${folderName('')} (the chosen folder)` : f.dir);
        }
      }
      item.caption = captions[i] ?? (p.captionFallback === 'folder' ? folderCaption : '');
      items.push(item);
      previews.push({ hash: res.hash, caption: item.caption, label: item.source ?? f.rel });
    }

    if (unprefixed.size > 0) {
      ctx.log.warn(
        `${TITLE}: ${unprefixed.size} folder(s) have no kohya repeat prefix, so kohya would SKIP their images: ` +
          `${[...unprefixed].join(', ')}. Rename them like "10_sks dog" (10 repeats); loaded here with 1 repeat.`,
      );
    }
    if (bad.length > 0 || scan.nonImages.length > 0) {
      const parts = [...bad, ...scan.nonImages.map((n) => `${n} (not an image)`)];
      ctx.log.warn(`${TITLE}: skipped ${parts.length} file(s) that could not be loaded: ${parts.join('; ')}`);
    }
    if (items.length === 0) {
      throw new Error(
        `${TITLE}: none of the ${scan.images.length} image files in "${p.folder}" could be read: ${bad.join('; ')}`,
      );
    }

    const withCaption = items.filter((it) => it.caption.trim() !== '').length;
    const folders: Record<string, { repeats: number; images: number }> = {};
    for (const it of items) {
      const dir = (it.source ?? '').split('/').slice(0, -1).join('/') || '.';
      const f = folders[dir] ?? { repeats: it.repeats, images: 0 };
      f.images += 1;
      folders[dir] = f;
    }
    return {
      outputs: { images: { kind: 'images', items } },
      display: {
        count: items.length,
        withCaption,
        withoutCaption: items.length - withCaption,
        trainingImages: items.reduce((s, it) => s + it.repeats, 0),
        skipped: bad.length + scan.nonImages.length,
        folders,
        images: previews,
      },
    };
  },
});
