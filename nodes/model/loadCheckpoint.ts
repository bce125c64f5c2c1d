import { basename } from 'node:path';
import { z } from 'zod';
import { rootsFromServices } from '../../server/fs/roots.ts';
import { engineFromServices } from '../sample/engine.ts';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import { ModelArch } from '../sdk/values.ts';
import { checkpointSha256 } from './fileSha256.ts';

const TITLE = 'Load Checkpoint';

const LoadModelReply = z.looseObject({
  model_id: z.string(),
  arch: z.string(),
  layout: z.string().optional(),
  config: z.record(z.string(), z.unknown()).default({}),
  parameters: z.record(z.string(), z.number()).optional(),
  device: z.string().optional(),
  dtype: z.string().optional(),
  prediction: z.enum(['eps', 'v']).optional(),
});

const params = z.object({
  file: ui(
    z.string().min(1, 'choose a checkpoint (.safetensors file or diffusers folder) inside a model root'),
    {
      widget: 'model',
      root: 'model',
      extensions: ['.safetensors'],
      placeholder: 'e.g. v1-5-pruned-emaonly.safetensors',
    },
  ),
});

export const loadCheckpoint = defineNode({
  type: 'loraflow/model/load-checkpoint',
  version: '1.0.0',
  title: TITLE,
  category: 'model',
  description:
    'Picks a base Stable Diffusion checkpoint under a model root; the engine validates it. Its sha256 is cached by path, size and mtime.',
  heavy: true,
  // Runs every time (cheap: a stat and a cached engine load), so a replaced file is never served stale.
  cache: 'never',
  inputs: {},
  outputs: { model: { type: 'MODEL' } },
  params,
  async run(ctx, _inputs, p) {
    const roots = rootsFromServices(ctx.services, TITLE);
    const engine = engineFromServices(ctx.services, TITLE);
    const r = roots.resolve('model', p.file);
    if (!r.ok) throw new Error(`${TITLE}: ${r.reason}`);
    if (!r.exists) throw new Error(`${TITLE}: "${p.file}" does not exist in the model roots`);
    const sha256 = await checkpointSha256(r.path, ctx.itemCache, ctx.signal, (done, total) =>
      ctx.progress(done, total + 1, 'hashing'),
    );
    const reply = LoadModelReply.parse(
      await engine.request(
        'load_model',
        { path: r.path, sha256 },
        {
          signal: ctx.signal,
          onProgress: ({ value, max, text }) => ctx.progress(value, max, text ?? 'loading'),
        },
      ),
    );
    // The engine reports SD2 768-v models as arch sd2 with prediction v.
    const arch = ModelArch.safeParse(reply.arch === 'sd2' && reply.prediction === 'v' ? 'sd2-v' : reply.arch);
    if (!arch.success)
      throw new Error(
        `${TITLE}: "${p.file}" is a ${reply.arch} model, which loraflow cannot use yet (supported: ${ModelArch.options.join(', ')})`,
      );
    return {
      outputs: { model: { kind: 'model', path: r.path, sha256, arch: arch.data, config: reply.config } },
      display: {
        name: basename(r.path),
        arch: arch.data,
        layout: reply.layout ?? null,
        sha256: sha256.slice(0, 10),
        parameters: reply.parameters ?? null,
        device: reply.device ?? null,
        dtype: reply.dtype ?? null,
      },
    };
  },
});
