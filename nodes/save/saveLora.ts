import { basename, join, relative, sep } from 'node:path';
import { z } from 'zod';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { writeFileAtomic } from '../../server/fs/uniqueName.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import { renderNameTemplate, safeFileName } from './nameTemplate.ts';
import { ensureDir } from './outputDir.ts';

const TITLE = 'Save LoRA';

export const saveLora = defineNode({
  type: 'loraflow/save/lora',
  version: '1.0.0',
  title: TITLE,
  category: 'save',
  description:
    'Writes the LoRA .safetensors into the outputs folder under a name template ({name}, {date}, {time}, ' +
    '{datetime}, {hash8}). Never overwrites unless asked: a taken name gets a counter (name_1). Atomic write.',
  inputs: { lora: { type: 'LORA' } },
  outputs: { lora: { type: 'LORA', description: 'The same LoRA, with the path it was saved to' } },
  params: z.object({
    folder: ui(z.string().default('loras'), { widget: 'folder', root: 'output' }),
    name: ui(z.string().min(1, 'give a file name template, e.g. {name}').default('{name}'), {
      placeholder: '{name}-{date}',
    }),
    overwrite: ui(z.boolean().default(false), { group: 'advanced' }).describe(
      'Replace a file with the same name.',
    ),
  }),
  cache: 'never',
  output: true,
  async run(ctx, inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const rendered = renderNameTemplate(p.name, { name: inputs.lora.name, hash: inputs.lora.hash });
    if (!rendered.ok) throw new Error(`${TITLE}: name: ${rendered.reason}`);
    let file = safeFileName(rendered.value, 'lora');
    if (!file.toLowerCase().endsWith('.safetensors')) file += '.safetensors';
    const dir = await ensureDir(roots, 'output', p.folder, `${TITLE}: folder`);
    const data = await ctx.store.get(inputs.lora.hash);
    ctx.progress(0, 1, `writing ${file}`);
    const written = await writeFileAtomic(dir.path, file, data, { overwrite: p.overwrite });
    ctx.progress(1, 1);
    const rel = relative(dir.root, written).split(sep).join('/');
    if (basename(written) !== file) ctx.log.info(`${TITLE}: ${file} exists; saved as ${basename(written)}`);
    return {
      outputs: { lora: { ...inputs.lora, path: written } },
      display: { path: rel, file: basename(written), folder: join(dir.root, dir.rel), bytes: data.length },
    };
  },
});
