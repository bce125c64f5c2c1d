import { readdir } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { z } from 'zod';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { writeFileExclusive } from '../../server/fs/uniqueName.ts';
import { openImage } from '../image/openImage.ts';
import { formatA1111Parameters } from '../png/a1111.ts';
import { withPngText } from '../png/textChunks.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import type { ImageItem } from '../sdk/values.ts';
import { safeFileName } from './nameTemplate.ts';
import { ensureDir } from './outputDir.ts';

const TITLE = 'Save Images';
export const WORKFLOW_KEYWORD = 'loraflow.workflow';
export const PARAMETERS_KEYWORD = 'parameters';

async function toPng(data: Buffer, item: ImageItem): Promise<Buffer> {
  // PNG bytes are kept as they are (no re-encode); other formats are decoded with EXIF orientation applied.
  if (item.format === 'png' || data.subarray(1, 4).toString('latin1') === 'PNG') return data;
  return openImage(data).rotate().png().toBuffer();
}

/** The text chunks embedded in each PNG: the workflow (when the run has one) and A1111-style parameters. */
export function pngMetadata(item: ImageItem, workflow: unknown): Record<string, string> {
  const text: Record<string, string> = {};
  if (workflow !== undefined) text[WORKFLOW_KEYWORD] = JSON.stringify(workflow);
  text[PARAMETERS_KEYWORD] = formatA1111Parameters({
    prompt: item.caption,
    settings: { Size: `${item.width}x${item.height}`, 'Source hash': item.hash.slice(0, 10) },
  });
  return text;
}

export const saveImages = defineNode({
  type: 'loraflow/save/images',
  version: '1.0.0',
  title: TITLE,
  category: 'save',
  description:
    'Writes images as PNG into the outputs folder with the workflow embedded (text chunk `loraflow.workflow`, ' +
    'drag the PNG back into the editor) and A1111-style `parameters`. Never overwrites: names get the next counter.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: {},
  params: z.object({
    folder: ui(z.string().default('images'), { widget: 'folder', root: 'output' }),
    prefix: z
      .string()
      .min(1)
      .default('loraflow')
      .describe('File names: prefix_00001.png, prefix_00002.png, ...'),
    naming: z
      .enum(['counter', 'source'])
      .default('counter')
      .describe('counter: prefix_00001.png; source: the source file name (with a counter when taken).'),
    embedWorkflow: ui(z.boolean().default(true), { group: 'advanced' }),
  }),
  cache: 'never',
  output: true,
  async run(ctx, inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const dir = await ensureDir(roots, 'output', p.folder, `${TITLE}: folder`);
    const prefix = safeFileName(p.prefix, 'loraflow');
    const counterRe = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)\\.png$`);
    let counter = 0;
    for (const f of await readdir(dir.path)) {
      const m = counterRe.exec(f);
      if (m) counter = Math.max(counter, Number(m[1]));
    }
    const workflow = p.embedWorkflow ? ctx.services.workflow : undefined;
    const saved: { hash: string; file: string; caption: string }[] = [];
    const total = inputs.images.items.length;
    for (const [i, item] of inputs.images.items.entries()) {
      ctx.signal.throwIfAborted();
      const png = withPngText(await toPng(await ctx.store.get(item.hash), item), pngMetadata(item, workflow));
      let target: string;
      if (p.naming === 'source' && item.source) {
        const stem = safeFileName(basename(item.source, extname(item.source)), prefix);
        for (let n = 0; ; n++) {
          target = join(dir.path, n === 0 ? `${stem}.png` : `${stem}_${n}.png`);
          if (await writeFileExclusive(target, png)) break;
        }
      } else {
        for (;;) {
          counter++;
          target = join(dir.path, `${prefix}_${String(counter).padStart(5, '0')}.png`);
          if (await writeFileExclusive(target, png)) break;
        }
      }
      saved.push({
        hash: item.hash,
        file: relative(dir.root, target).split(sep).join('/'),
        caption: item.caption,
      });
      ctx.progress(i + 1, total, `saved ${basename(target)}`);
    }
    return { outputs: {}, display: { count: saved.length, folder: join(dir.root, dir.rel), images: saved } };
  },
});
