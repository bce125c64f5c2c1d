import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { replaceFileAtomic, writeFileExclusive } from '../../server/fs/uniqueName.ts';
import { kohyaFolderName } from '../dataset/kohyaFolder.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { safeFileName } from './nameTemplate.ts';
import { ensureDir } from './outputDir.ts';

const TITLE = 'Save Dataset';

const EXT_BY_FORMAT: Record<string, string> = {
  png: '.png',
  jpeg: '.jpg',
  jpg: '.jpg',
  webp: '.webp',
  avif: '.avif',
  heif: '.avif',
  tiff: '.tiff',
  gif: '.gif',
};

function sniffExt(data: Buffer): string {
  if (data.subarray(1, 4).toString('latin1') === 'PNG') return '.png';
  if (data[0] === 0xff && data[1] === 0xd8) return '.jpg';
  if (data.subarray(8, 12).toString('latin1') === 'WEBP') return '.webp';
  if (data.subarray(0, 3).toString('latin1') === 'GIF') return '.gif';
  return '.png';
}

/** Where an item goes: `img/10_sks dog/` (or `reg/1_dog/` for regularization images). */
export function kohyaFolderFor(
  item: ImageItem,
  p: { repeats: number; instance: string; className: string },
): string {
  const repeats = p.repeats > 0 ? p.repeats : item.repeats;
  const instance = p.instance || item.instance || '';
  const className = p.className || item.className || '';
  if (item.regularization) return join('reg', kohyaFolderName(repeats, className || instance, ''));
  return join('img', kohyaFolderName(repeats, instance, className));
}

export const saveDataset = defineNode({
  type: 'loraflow/save/dataset',
  version: '1.0.0',
  title: TITLE,
  category: 'save',
  description:
    'Exports a kohya-layout dataset that kohya_ss trains on as it is: `<folder>/img/<repeats>_<instance> <class>/` ' +
    'with each image and a `.txt` caption (regularization images under `reg/`). Point kohya at `<folder>/img`.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: {},
  params: z.object({
    root: z
      .enum(['output', 'dataset'])
      .default('output')
      .describe('Export into the outputs or a dataset root.'),
    folder: ui(z.string().min(1, 'name the export folder'), { widget: 'folder', root: 'output' }),
    repeats: ui(z.number().int().min(0).max(10_000).default(0), { group: 'advanced' }).describe(
      'Repeats for every image; 0 keeps each image’s own (from its kohya folder).',
    ),
    instance: z
      .string()
      .default('')
      .describe('Instance token for the folder name; empty keeps each image’s.'),
    className: z.string().default('').describe('Class word for the folder name; empty keeps each image’s.'),
    overwrite: ui(z.boolean().default(false), { group: 'advanced' }).describe(
      'Export into a non-empty folder, replacing files with the same names.',
    ),
  }),
  cache: 'never',
  output: true,
  async run(ctx, inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const where = `${TITLE}: folder`;
    const pre = roots.resolve(p.root, p.folder);
    if (!pre.ok) throw new Error(`${where}: ${pre.reason}`);
    if (pre.exists && !p.overwrite && (await readdir(pre.path)).length > 0) {
      throw new Error(
        `${where}: "${p.folder}" already exists and is not empty; choose a new folder or turn on overwrite`,
      );
    }
    const dir = await ensureDir(roots, p.root, p.folder, where);
    const counts: Record<string, { images: number; repeats: number }> = {};
    const used = new Set<string>();
    const total = inputs.images.items.length;
    for (const [i, item] of inputs.images.items.entries()) {
      ctx.signal.throwIfAborted();
      const sub = kohyaFolderFor(item, p);
      const folderAbs = await ensureDir(roots, p.root, join(dir.path, sub), where);
      const data = await ctx.store.get(item.hash);
      const ext = EXT_BY_FORMAT[item.format ?? ''] ?? sniffExt(data);
      const stem = safeFileName(
        item.source ? basename(item.source, extname(item.source)) : item.hash.slice(0, 16),
        'image',
      );
      // Unique stem within this export (two sources may share a name); captions share the image's stem.
      let name = stem;
      for (let n = 1; used.has(join(sub, name)); n++) name = `${stem}_${n}`;
      used.add(join(sub, name));
      const imagePath = join(folderAbs.path, name + ext);
      const captionPath = join(folderAbs.path, `${name}.txt`);
      if (p.overwrite) {
        await replaceFileAtomic(imagePath, data);
        await replaceFileAtomic(captionPath, Buffer.from(`${item.caption}\n`));
      } else if (
        !(await writeFileExclusive(imagePath, data)) ||
        !(await writeFileExclusive(captionPath, Buffer.from(`${item.caption}\n`)))
      ) {
        throw new Error(`${where}: ${join(sub, name)} appeared while exporting; nothing was overwritten`);
      }
      const c = counts[sub] ?? { images: 0, repeats: p.repeats > 0 ? p.repeats : item.repeats };
      c.images += 1;
      counts[sub] = c;
      ctx.progress(i + 1, total, `exported ${i + 1}/${total}`);
    }
    const trainDir = join(dir.path, 'img');
    return {
      outputs: {},
      display: {
        count: total,
        folder: dir.path,
        trainDataDir: trainDir,
        folders: counts,
        kohya: `--train_data_dir "${trainDir}"${Object.keys(counts).some((k) => k.startsWith('reg')) ? ` --reg_data_dir "${join(dir.path, 'reg')}"` : ''}`,
      },
    };
  },
});
