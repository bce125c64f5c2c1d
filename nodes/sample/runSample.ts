import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import type { NodeContext } from '../sdk/context.ts';
import type { LoraValue, ModelValue } from '../sdk/values.ts';
import type { SamplingEngine } from './engine.ts';
import { LoadModelResult, parseEngineResult, SamplePreviewEvent, SampleResult } from './engineResults.ts';
import { readImageTensor } from './imageTensor.ts';
import { loraStrengths } from './loraStrengths.ts';
import { encodeSamplePng, previewDataUrl } from './samplePng.ts';
import { engineSamplerArgs, type SamplerSettings } from './samplerSettings.ts';

/** Minimum time between two live previews sent to the editor (the last step is always sent). */
const PREVIEW_INTERVAL_MS = 250;

export type SampleJob = {
  model: ModelValue;
  loras: LoraValue[];
  prompts: string[];
  negativePrompt: string;
  batchCount: number;
  /** Explicit per-image seeds (prompts × batchCount of them); default settings.seed + index. */
  seeds?: number[];
  settings: SamplerSettings;
  /** Progress of this job maps onto [offset, offset + span) of `total` (Regularization runs many jobs). */
  progress?: { offset: number; total: number };
  previews?: boolean;
};

export type SampledPng = {
  hash: string;
  width: number;
  height: number;
  seed: number;
  prompt: string;
};

/** Loads the model in the engine (a no-op when it is cached there) and returns its engine id. */
export async function loadModel(
  engine: SamplingEngine,
  model: ModelValue,
  signal: AbortSignal,
): Promise<string> {
  const r = await engine.request('load_model', { path: model.path, sha256: model.sha256 }, { signal });
  return parseEngineResult(LoadModelResult, r, 'load_model').model_id;
}

/**
 * Runs the engine's `sample` op and turns its uint8 images into PNG artifacts carrying the workflow
 * (`loraflow.workflow`) and A1111 `parameters`. Live previews go out as `sample.preview` node events whose
 * `image` is a PNG data URL at latent resolution.
 */
export async function runSample(
  ctx: NodeContext,
  engine: SamplingEngine,
  job: SampleJob,
): Promise<SampledPng[]> {
  const modelId = await loadModel(engine, job.model, ctx.signal);
  const loras = await Promise.all(
    job.loras.map(async (l) => ({
      path: l.path ?? (await ctx.store.verifiedPath(l.hash)),
      ...loraStrengths(l),
    })),
  );
  const out = ctx.store.tempPath('.safetensors');
  const count = job.prompts.length * job.batchCount;
  let lastPreview = 0;
  const pendingPreviews: Promise<void>[] = [];
  const onEvent = (data: Record<string, unknown>) => {
    if (!job.previews) return;
    const p = SamplePreviewEvent.safeParse(data);
    if (!p.success) return;
    const now = Date.now();
    if (p.data.step !== p.data.steps && now - lastPreview < PREVIEW_INTERVAL_MS) return;
    lastPreview = now;
    const { image, step, steps, width, height } = p.data;
    // Encode in arrival order so the editor never sees an older step after a newer one.
    const previous = pendingPreviews.at(-1) ?? Promise.resolve();
    pendingPreviews.push(
      previous
        .then(() => previewDataUrl({ width, height, data: Buffer.from(p.data.data, 'base64') }))
        .then((url) => {
          if (!ctx.signal.aborted)
            ctx.emit({ type: 'sample.preview', data: { index: image, step, steps, image: url } });
        })
        .catch(() => {}),
    );
  };
  let result: SampleResult;
  try {
    const raw = await engine.request(
      'sample',
      {
        model_id: modelId,
        loras,
        prompts: job.prompts,
        negative_prompt: job.negativePrompt,
        batch_count: job.batchCount,
        seed: job.settings.seed,
        ...(job.seeds ? { seeds: job.seeds } : {}),
        ...engineSamplerArgs(job.settings, job.model.arch),
        preview_every: job.previews ? 1 : 0,
        out,
      },
      {
        signal: ctx.signal,
        onEvent,
        onProgress: ({ value, max, text }) => {
          if (!job.progress) return ctx.progress(value, max, text);
          const frac = max > 0 ? value / max : 0;
          ctx.progress(job.progress.offset + frac * count, job.progress.total, text);
        },
        onLog: ({ level, message }) => {
          if (level === 'warn' || level === 'error') ctx.log.warn(message);
        },
      },
    );
    result = parseEngineResult(SampleResult, raw, 'sample');
    await Promise.all(pendingPreviews);
    const images = await readImageTensor(result.path);
    if (images.length !== count)
      throw new Error(`the engine returned ${images.length} images, expected ${count}`);
    for (const l of result.loras) {
      if (l.unmatched_keys > 0)
        ctx.log.warn(
          `${basename(l.path)}: ${l.unmatched_keys} LoRA modules match no layer of this model (is it for another base model?)`,
        );
    }
    const pngs: SampledPng[] = [];
    for (let i = 0; i < images.length; i++) {
      const img = images[i]!;
      const seed = result.seeds[i]!;
      const prompt = job.prompts[result.prompt_index[i]!]!;
      const png = await encodeSamplePng(img, {
        workflow: ctx.services.workflow,
        parameters: {
          prompt,
          negativePrompt: job.negativePrompt,
          steps: job.settings.steps,
          samplerLabel: result.sampler_label,
          cfgScale: job.settings.cfgScale,
          seed,
          width: img.width,
          height: img.height,
          modelSha256: job.model.sha256,
          modelName: basename(job.model.path).replace(/\.(safetensors|ckpt)$/i, ''),
          clipSkip: job.settings.clipSkip,
          loras: job.loras.map((l, k) => ({
            name: l.name,
            hash: l.hash,
            unet: loras[k]!.unet_strength,
            te: loras[k]!.te_strength,
          })),
        },
      });
      const hash = await ctx.store.put(png, { contentType: 'image/png', label: `sample seed ${seed}` });
      pngs.push({ hash, width: img.width, height: img.height, seed, prompt });
    }
    return pngs;
  } finally {
    await rm(out, { force: true });
  }
}
