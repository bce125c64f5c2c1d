import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { makeBuckets } from '../image/buckets.ts';
import { engineFromServices, type SamplingEngine } from '../sample/engine.ts';
import { readImageTensor } from '../sample/imageTensor.ts';
import type { NodeContext } from '../sdk/context.ts';
import { defineNode } from '../sdk/defineNode.ts';
import type { ImageItem } from '../sdk/values.ts';
import { bucketPlan, cacheLatents } from './latentCache.ts';
import { stepCountPreview } from './stepCount.ts';
import { engineTrainParams, type TrainParams, trainBuckets, trainParams } from './trainParams.ts';

/** The engine's `original_*` / `crop_*` item fields of one training image. */
function sizeConditioning(
  it: Pick<ImageItem, 'width' | 'height'>,
  plan: { crop: { left: number; top: number }; resized: { width: number }; bucket: { width: number } },
): {
  original_width: number;
  original_height: number;
  crop_left: number;
  crop_top: number;
  crop_left_flipped: number;
} {
  return {
    original_width: it.width,
    original_height: it.height,
    crop_left: plan.crop.left,
    crop_top: plan.crop.top,
    // The same crop seen in the mirrored image, for the flip_aug latents.
    crop_left_flipped: Math.max(0, plan.resized.width - plan.bucket.width - plan.crop.left),
  };
}

const TITLE = 'LoRA Train';

type TrainLoraResult = {
  path: string;
  steps: number;
  total_steps: number;
  epochs: number;
  resumed_from_step: number;
  loss_avg: number;
  nan_steps_skipped: number;
  checkpoints: string[];
  seconds: number;
  metadata: Record<string, string>;
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `<dataDir>/training/<key>`: the artifact store's temp dir is `<dataDir>/tmp` (or `services.trainingDir`). */
function trainingRoot(ctx: NodeContext): string {
  const configured = ctx.services.trainingDir;
  if (typeof configured === 'string' && configured !== '') return configured;
  return join(dirname(dirname(ctx.store.tempPath())), 'training');
}

function modelMultiple(loaded: unknown): number {
  const cfg =
    (loaded as { config?: { vae?: { ch_mult?: unknown[] }; unet?: { channel_mult?: unknown[] } } })?.config ??
    {};
  const vae = Array.isArray(cfg.vae?.ch_mult) ? 2 ** (cfg.vae.ch_mult.length - 1) : 8;
  const unet = Array.isArray(cfg.unet?.channel_mult) ? 2 ** (cfg.unet.channel_mult.length - 1) : 8;
  return vae * unet;
}

function itemDir(it: ImageItem): string {
  if (it.instance !== undefined)
    return `${it.repeats}_${it.instance}${it.className ? ` ${it.className}` : ''}`;
  if (it.source) {
    const d = dirname(it.source);
    return d === '.' ? 'images' : basename(d);
  }
  return it.regularization ? 'reg' : 'images';
}

function loadDtype(p: TrainParams): string {
  return p.mixed_precision === 'bf16' ? 'bf16' : p.mixed_precision === 'fp16' ? 'fp16' : 'fp32';
}

async function storeFile(ctx: NodeContext, path: string, label: string): Promise<string> {
  return ctx.store.putFile(path, { contentType: 'application/octet-stream', label });
}

/** Stores one sample image the engine rendered during training as a PNG and emits `training.sample`. */
async function storeSample(ctx: NodeContext, d: Record<string, unknown>): Promise<void> {
  const path = String(d.path);
  const [img] = await readImageTensor(path);
  if (!img) return;
  const png = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
  const hash = await ctx.store.put(png, {
    contentType: 'image/png',
    label: `training sample step ${String(d.step)}`,
  });
  if (ctx.signal.aborted) return;
  const data: Record<string, unknown> = { step: Number(d.step), prompt: String(d.prompt ?? ''), image: hash };
  if (typeof d.seed === 'number' && Number.isSafeInteger(d.seed)) data.seed = d.seed;
  ctx.emit({ type: 'training.sample', data });
}

/** Forwards the engine's training events: metrics and samples to the dashboard, resume / NaN notices to the log. */
function onEngineEvent(ctx: NodeContext, state: { resumedAt: number; samples: Promise<void>[] }) {
  return (raw: unknown) => {
    const e = raw as { type?: unknown; data?: Record<string, unknown> };
    if (typeof e?.type !== 'string' || typeof e.data !== 'object' || e.data === null) return;
    if (ctx.signal.aborted) return;
    if (e.type === 'training.metrics') {
      ctx.emit({ type: 'training.metrics', data: e.data });
    } else if (e.type === 'training.resumed') {
      state.resumedAt = Number(e.data.step ?? 0);
      ctx.log.info(`resumed at step ${state.resumedAt} (epoch ${String(e.data.epoch)})`);
      ctx.emit({ type: 'training.resumed', data: e.data });
    } else if (e.type === 'training.sample_image') {
      state.samples.push(
        storeSample(ctx, e.data).catch((err) => ctx.log.warn(`sample image: ${(err as Error).message}`)),
      );
    } else if (e.type === 'training.nan_skipped') {
      ctx.log.warn(`NaN/Inf loss at step ${String(e.data.step)}: the step was skipped`);
    } else if (e.type === 'training.checkpoint') {
      ctx.emit({
        type: 'training.checkpoint',
        data: { step: e.data.step, epoch: e.data.epoch, final: e.data.final },
      });
    }
  };
}

/** The engine's atomic writers name their temp files `<file>.tmp-XXXXXX` (mkstemp). */
const ENGINE_TEMP = /\.tmp-[A-Za-z0-9]{6}$/;

/** A killed engine cannot remove the temp file it was writing: clear those before training writes again. */
async function removeEngineTemps(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs)
    for (const f of await readdir(dir)) if (ENGINE_TEMP.test(f)) await rm(join(dir, f), { force: true });
}

export const loraTrain = defineNode({
  type: 'loraflow/train/lora',
  version: '1.0.0',
  title: TITLE,
  category: 'train',
  description: [
    'Trains a kohya-format LoRA (lora_unet_/lora_te_ keys, ss_* metadata, the workflow embedded) on an SD1.x model.',
    'Steps = images × repeats ÷ batch × epochs, doubled with regularisation images; the count is shown when the run starts.',
    'Latents are cached per image, so adding one image encodes one image. Cancelling saves the state; running the',
    'same node again resumes where it stopped. sample_prompts (kohya syntax: --n --w --h --d --s --l --ss) are rendered with the LoRA every N steps/epochs and shown on the training dashboard.',
  ].join(' '),
  heavy: true,
  inputs: {
    model: { type: 'MODEL' },
    images: { type: 'IMAGES', description: 'Training images with captions and repeats' },
    regularization: {
      type: 'IMAGES',
      optional: true,
      description: 'Regularisation images (prior_loss_weight)',
    },
  },
  outputs: { lora: { type: 'LORA' } },
  params: trainParams,
  async run(ctx, inputs, p) {
    const engine: SamplingEngine = engineFromServices(ctx.services, TITLE);
    const train = inputs.images.items.filter((i) => !i.regularization);
    const reg = [
      ...inputs.images.items.filter((i) => i.regularization),
      ...(inputs.regularization?.items ?? []),
    ];
    if (train.length === 0)
      throw new Error(`${TITLE}: the training set is empty; connect images (not only regularisation images)`);
    const preview = stepCountPreview({
      trainRepeats: train.map((i) => i.repeats),
      regImages: reg.length,
      batchSize: p.train_batch_size,
      gradientAccumulation: p.gradient_accumulation_steps,
      maxTrainEpochs: p.max_train_epochs,
      maxTrainSteps: p.max_train_steps,
    });
    ctx.log.info(`step count: ${preview.summary}`);
    const bucketSizes = trainBuckets(p, inputs.model.arch);
    ctx.log.info(`resolution: ${bucketSizes.text}`);
    const params = engineTrainParams(p);

    const dtype = loadDtype(p);
    const loaded = await engine.request(
      'load_model',
      { path: inputs.model.path, sha256: inputs.model.sha256, dtype },
      { signal: ctx.signal },
    );
    const modelId = (loaded as { model_id?: unknown }).model_id;
    if (typeof modelId !== 'string') throw new Error(`${TITLE}: load_model returned no model_id`);
    const multiple = modelMultiple(loaded);

    const all = [
      ...train.map((i) => ({ ...i, regularization: false })),
      ...reg.map((i) => ({ ...i, regularization: true })),
    ];
    const latentOptions = {
      modelId,
      modelSha256: inputs.model.sha256,
      dtype,
      multiple,
      flip: p.flip_aug,
      buckets: {
        width: bucketSizes.resolution,
        height: bucketSizes.resolution,
        min: bucketSizes.min,
        max: bucketSizes.max,
        step: 64,
        noUpscale: p.bucket_no_upscale,
      },
    };
    const latents = await cacheLatents(ctx, engine, all, latentOptions, (done, total) =>
      ctx.progress(done, total, 'caching latents'),
    );
    // The engine reads the latents files itself: each is hashed first, so a corrupt one is recomputed, never trained on.
    const bucketList = makeBuckets(latentOptions.buckets);
    const items = await Promise.all(
      all.map(async (it, i) => {
        const l = latents[i];
        if (!l) throw new Error(`${TITLE}: no latents for image ${it.hash}`);
        return {
          id: it.hash,
          latents: await ctx.store.verifiedPath(l.latents),
          ...(l.flipped ? { latents_flipped: await ctx.store.verifiedPath(l.flipped) } : {}),
          caption: it.caption,
          repeats: it.repeats,
          is_reg: it.regularization,
          dir: itemDir(it),
          // SDXL size/crop conditioning (kohya): size before bucket resizing, crop in the resized image.
          ...sizeConditioning(it, bucketPlan(it, latentOptions, bucketList)),
        };
      }),
    );

    // Resume state lives under a key of everything that changes the training result.
    const {
      output_name: _name,
      save_precision: _sp,
      save_every_n_epochs: _se,
      save_every_n_steps: _ss,
      save_last_n: _sl,
      save_state_every_n_minutes: _ssm,
      max_nan_steps: _mn,
      sample_prompts: _sp2,
      sample_every_n_steps: _ses,
      sample_every_n_epochs: _see,
      sample_sampler: _ssa,
      ...keyed
    } = params as Record<string, unknown>;
    const key = sha256(
      JSON.stringify({
        model: inputs.model.sha256,
        dtype,
        params: keyed,
        items: items.map((i) => [i.id, i.caption, i.repeats, i.is_reg, i.latents]),
      }),
    ).slice(0, 32);
    const stateDir = join(trainingRoot(ctx), key);
    const outDir = join(stateDir, 'output');
    await mkdir(outDir, { recursive: true });
    await removeEngineTemps([stateDir, outDir]);

    const state = { resumedAt: 0, samples: [] as Promise<void>[] };
    let result: TrainLoraResult;
    try {
      result = (await engine.request(
        'train_lora',
        {
          model_id: modelId,
          items,
          params,
          output_dir: outDir,
          state_dir: stateDir,
          workflow: ctx.services.workflow ?? null,
          model_name: basename(inputs.model.path),
          model_sha256: inputs.model.sha256,
        },
        {
          signal: ctx.signal,
          onEvent: onEngineEvent(ctx, state),
          onProgress: (pr) => {
            if (!ctx.signal.aborted) ctx.progress(pr.value, pr.max, pr.text ?? 'training');
          },
          onLog: (l) => {
            if (l.level === 'warn') ctx.log.warn(l.message);
            else if (l.level === 'error') ctx.log.error(l.message);
          },
        },
      )) as TrainLoraResult;
    } catch (err) {
      const e = err as { code?: string; message?: string; hint?: string; details?: { hint?: string } };
      if (e?.code === 'cancelled') throw err;
      const hint =
        e?.code === 'engine_crashed'
          ? 'run the workflow again to resume from the last saved state'
          : (e?.hint ?? e?.details?.hint);
      throw new Error(`${TITLE}: ${e?.message ?? String(err)}${hint ? ` (${hint})` : ''}`);
    }

    await Promise.all(state.samples);
    const hash = await storeFile(ctx, result.path, `LoRA ${p.output_name}`);
    const checkpoints: { name: string; hash: string }[] = [];
    for (const c of result.checkpoints)
      checkpoints.push({
        name: basename(c),
        hash: await storeFile(ctx, c, `LoRA checkpoint ${basename(c)}`),
      });
    // The files now live in the artifact store; the state (for resume) stays.
    for (const f of await readdir(outDir)) await rm(join(outDir, f), { recursive: true, force: true });
    const { 'loraflow.workflow': _wf, ...metadata } = result.metadata;
    return {
      outputs: { lora: { kind: 'lora', hash, name: p.output_name, metadata } },
      display: {
        steps: result.steps,
        totalSteps: result.total_steps,
        epochs: result.epochs,
        lossAvg: result.loss_avg,
        resumedFromStep: result.resumed_from_step,
        nanStepsSkipped: result.nan_steps_skipped,
        seconds: result.seconds,
        stepCount: preview.summary,
        resolution: bucketSizes.text,
        checkpoints,
      },
    };
  },
});
