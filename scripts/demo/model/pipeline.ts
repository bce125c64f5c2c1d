// Trains the bundled demo model from scratch (issue 8 §2): random SD1 weights in the demo layout, then the VAE as
// an autoencoder on the procedural shapes set, then the UNet and text encoder on the set's captions, all through
// the engine's `train_full` op; finally the quality figures from samples of every (shape, colour) pair.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { defaultEngineBinary, EngineClient } from '../../../server/engine/engineClient.ts';
import { writeSafetensors } from '../../../server/engine/safetensors.ts';
import { baseSpecs, captionOf, IMAGE_SIZE, renderSpec } from '../dataset.ts';
import type { QualityReport } from '../quality.ts';
import { measureQuality, type QualityOptions } from './sampleQuality.ts';

/** Words of the demo captions that the tiny tokenizer does not already hold as single tokens. */
export const DEMO_TOKENIZER_WORDS = ['ring', 'cross', 'diamond'];

export interface StageSettings {
  steps: number;
  batch: number;
  lr: number;
}

export interface DemoModelOptions {
  /** The checkpoint to write; its tokenizer goes to `<stem>.tokenizer/` beside it. */
  out: string;
  /** Scratch folder for the intermediate files (deleted afterwards). */
  workDir: string;
  seed: number;
  /** Training images rendered by the demo data generator. */
  count: number;
  /** Keep shape centres within this many pixels of the image centre (baseSpecs); undefined = anywhere. */
  positionJitter?: number;
  vae: StageSettings & { crop: number };
  /** emaDecay 0 saves the last step's weights; otherwise their moving average (train_full's ema_decay). */
  unet: StageSettings & { textEncoderLr: number; minSnrGamma: number; emaDecay: number };
  quality: QualityOptions;
  overwrite: boolean;
  /** Skip the VAE stage and train the UNet further from this demo checkpoint (a fresh LR schedule). */
  continueFrom?: string;
  engineBin?: string;
  /** Engine intra-op (OpenMP) threads; undefined = the engine's default. */
  threads?: number;
  /** OpenBLAS threads (OPENBLAS_NUM_THREADS); undefined = inherited or the engine's default. */
  blasThreads?: number;
  log: (line: string) => void;
}

export interface StageReport {
  steps: number;
  seconds: number;
  lossFirst: number;
  lossLast: number;
  trainedParameters: number;
  peakRssMb: number;
}

export interface DemoModelReport {
  path: string;
  tokenizerDir: string;
  images: number;
  parameters: number;
  vae: StageReport;
  unet: StageReport;
  quality: QualityReport;
  qualitySeconds: number;
  totalSeconds: number;
}

interface TrainFullResult {
  steps: number;
  seconds: number;
  loss_first: number;
  loss_last: number;
  trained_parameters: number;
  peak_rss_mb: number;
}

function stageReport(r: TrainFullResult): StageReport {
  return {
    steps: r.steps,
    seconds: r.seconds,
    lossFirst: r.loss_first,
    lossLast: r.loss_last,
    trainedParameters: r.trained_parameters,
    peakRssMb: r.peak_rss_mb,
  };
}

/** Renders the base set into one uint8 [N,64,64,3] tensor file plus its captions. */
function writeTrainingImages(path: string, seed: number, count: number, jitter?: number): string[] {
  const specs = baseSpecs(seed, count, jitter);
  const px = IMAGE_SIZE * IMAGE_SIZE * 3;
  const data = new Uint8Array(specs.length * px);
  for (const [i, s] of specs.entries()) data.set(renderSpec(s), i * px);
  writeSafetensors(path, { images: { dtype: 'U8', shape: [specs.length, IMAGE_SIZE, IMAGE_SIZE, 3], data } });
  return specs.map(captionOf);
}

/** Continuing from a checkpoint: it stands in for the VAE stage's output (a copy, so `out` may be the same file). */
function continued(from: string, copy: string): TrainFullResult {
  copyFileSync(from, copy);
  return { steps: 0, seconds: 0, loss_first: 0, loss_last: 0, trained_parameters: 0, peak_rss_mb: 0 };
}

function tokenizerDirOf(checkpoint: string): string {
  return join(dirname(checkpoint), `${basename(checkpoint, '.safetensors')}.tokenizer`);
}

export async function makeDemoModel(o: DemoModelOptions): Promise<DemoModelReport> {
  const started = performance.now();
  if (existsSync(o.out) && !o.overwrite)
    throw new Error(`${o.out} already exists; pass --force to replace it`);
  const bin = o.engineBin ?? defaultEngineBinary();
  rmSync(o.workDir, { recursive: true, force: true });
  mkdirSync(o.workDir, { recursive: true });
  const init = join(o.workDir, 'init.safetensors');
  const made = JSON.parse(
    execFileSync(
      bin,
      [
        'make-model',
        '--arch',
        'sd1',
        '--size',
        'demo',
        '--seed',
        String(o.seed),
        '--dtype',
        'fp32',
        '--out',
        init,
        '--tokenizer-words',
        DEMO_TOKENIZER_WORDS.join(','),
      ],
      { encoding: 'utf8' },
    ),
  ) as { parameters: number; tokenizer: string };
  o.log(`random demo model: ${made.parameters.toLocaleString('en')} parameters`);

  const images = join(o.workDir, 'images.safetensors');
  const captions = writeTrainingImages(images, o.seed, o.count, o.positionJitter);
  o.log(`training set: ${captions.length} rendered images (seed ${o.seed})`);

  const env =
    o.blasThreads === undefined ? undefined : { ...process.env, OPENBLAS_NUM_THREADS: String(o.blasThreads) };
  const client = new EngineClient({ workDir: o.workDir, binPath: bin, threads: o.threads, env });
  // Metrics arrive throttled (2/s), so log the first one past each hundred steps.
  const progress = (stage: string) => {
    let logged = 0;
    return {
      onEvent: (e: Record<string, unknown>) => {
        const d = e.data as { step?: number; total_steps?: number; loss_avg?: number; eta_s?: number | null };
        if (e.type !== 'training.metrics' || d.step === undefined) return;
        if (Math.floor(d.step / 100) <= logged && d.step !== d.total_steps) return;
        logged = Math.floor(d.step / 100);
        o.log(
          `  ${stage} step ${d.step}/${d.total_steps}  loss ${d.loss_avg?.toFixed(4)}  eta ${Math.round(d.eta_s ?? 0)} s`,
        );
      },
    };
  };
  try {
    const load = async (path: string) =>
      (
        (await client.request('load_model', { path, tokenizer_path: made.tokenizer, dtype: 'fp32' })) as {
          model_id: string;
        }
      ).model_id;
    const vaeOut = join(o.workDir, 'vae-trained.safetensors');
    const vae = o.continueFrom
      ? continued(o.continueFrom, vaeOut)
      : ((await client.request(
          'train_full',
          {
            model_id: await load(init),
            images,
            out: vaeOut,
            save_dtype: 'fp32',
            params: {
              component: 'vae',
              max_train_steps: o.vae.steps,
              train_batch_size: o.vae.batch,
              learning_rate: o.vae.lr,
              crop_size: o.vae.crop,
              seed: o.seed,
              flip_aug: true,
            },
          },
          progress('vae'),
        )) as TrainFullResult);
    o.log(
      `VAE: ${vae.steps} steps in ${vae.seconds.toFixed(0)} s, L1 ${vae.loss_first.toFixed(4)} -> ${vae.loss_last.toFixed(4)}`,
    );

    const unet = (await client.request(
      'train_full',
      {
        model_id: await load(vaeOut),
        images,
        captions,
        out: o.out,
        overwrite: o.overwrite,
        save_dtype: 'fp16',
        metadata: { 'loraflow.demo_model': `seed=${o.seed} images=${captions.length}` },
        params: {
          component: 'unet',
          max_train_steps: o.unet.steps,
          train_batch_size: o.unet.batch,
          learning_rate: o.unet.lr,
          text_encoder_lr: o.unet.textEncoderLr,
          seed: o.seed,
          caption_dropout_rate: 0.1,
          min_snr_gamma: o.unet.minSnrGamma,
          ema_decay: o.unet.emaDecay,
        },
      },
      progress('unet'),
    )) as TrainFullResult;
    o.log(
      `UNet: ${unet.steps} steps in ${unet.seconds.toFixed(0)} s, loss ${unet.loss_first.toFixed(4)} -> ${unet.loss_last.toFixed(4)}`,
    );

    const tokenizerDir = tokenizerDirOf(o.out);
    rmSync(tokenizerDir, { recursive: true, force: true });
    cpSync(made.tokenizer, tokenizerDir, { recursive: true });
    const finalId = (
      (await client.request('load_model', { path: o.out, dtype: 'fp32' })) as { model_id: string }
    ).model_id;
    const q = await measureQuality(client, finalId, o.quality);
    return {
      path: o.out,
      tokenizerDir,
      images: captions.length,
      parameters: made.parameters,
      vae: stageReport(vae),
      unet: stageReport(unet),
      quality: q.report,
      qualitySeconds: q.seconds,
      totalSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await client.close();
    rmSync(o.workDir, { recursive: true, force: true });
  }
}
