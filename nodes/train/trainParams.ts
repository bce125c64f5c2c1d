import { z } from 'zod';
import { AUTO, AUTO_HELP, autoOr, resolveSize } from '../model/autoSize.ts';
import { ui } from '../sdk/ui.ts';
import type { ModelArch } from '../sdk/values.ts';

/**
 * LoRA Train parameters. Names are kohya sd-scripts' own (snake_case) because users know them from kohya_ss
 * and they are passed to the engine's `train_lora` op unchanged; defaults are kohya's where sensible
 * (mixed_precision defaults to `no` so training also runs on the CPU).
 */
const basic = { group: 'basic' } as const;
const advanced = { group: 'advanced' } as const;

export const OPTIMIZERS = ['AdamW', 'AdamW8bit', 'Lion', 'SGDNesterov', 'Prodigy'] as const;
export const SCHEDULERS = [
  'constant',
  'constant_with_warmup',
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
] as const;

const AUTO_MIN_BUCKET = '"auto" = half the resolution (kohya\'s 256 at 512, 512 at SDXL\'s 1024)';
const AUTO_MAX_BUCKET = '"auto" = twice the resolution (kohya\'s 1024 at 512, 2048 at SDXL\'s 1024)';

export const trainParams = z.object({
  output_name: ui(
    z
      .string()
      .regex(/^[^/\\]+$/, 'a file name without slashes')
      .default('my-lora'),
    basic,
  ).describe(
    'File name of the LoRA (without .safetensors); checkpoints are name-000001 / name-step00000500.',
  ),
  network_dim: ui(z.number().int().min(1).max(1024).default(16), {
    ...basic,
    widget: 'slider',
    step: 1,
  }).describe('LoRA rank.'),
  network_alpha: ui(z.number().min(0).default(8), basic).describe(
    'Scale = alpha / rank (0 means alpha = rank).',
  ),
  learning_rate: ui(z.number().min(0).default(1e-4), basic),
  unet_lr: ui(z.number().min(0).optional(), basic).describe('UNet learning rate (default: learning_rate).'),
  text_encoder_lr: ui(z.number().min(0).optional(), basic).describe(
    'Text-encoder learning rate (default: learning_rate; usually 1/2 to 1/10 of it). 0 trains the UNet only.',
  ),
  network_train_unet_only: ui(z.boolean().default(false), basic),
  max_train_epochs: ui(z.number().int().min(0).default(10), basic).describe(
    'Epochs; 0 = use max_train_steps.',
  ),
  max_train_steps: ui(z.number().int().min(1).default(1600), basic),
  train_batch_size: ui(z.number().int().min(1).max(64).default(1), { ...basic, widget: 'slider', step: 1 }),
  optimizer_type: ui(z.enum(OPTIMIZERS).default('AdamW'), basic).describe(
    'AdamW8bit keeps blockwise 8-bit optimizer states (about 4x less optimizer memory); Prodigy wants learning_rate 1.0.',
  ),
  lr_scheduler: ui(z.enum(SCHEDULERS).default('constant'), basic),
  resolution: ui(autoOr(z.number().int().min(64).max(2048).multipleOf(64)), basic).describe(
    `Bucket base resolution (its square is the pixel area of every bucket) for images that are not bucket-sized already (Crop/Resize output is used as is); ${AUTO_HELP}.`,
  ),
  mixed_precision: ui(z.enum(['no', 'bf16', 'fp16']).default('no'), basic).describe(
    'Runs the frozen model in bf16/fp16 (LoRA weights stay fp32). fp16 needs a CUDA GPU.',
  ),
  save_precision: ui(z.enum(['fp16', 'bf16', 'fp32']).default('fp16'), basic),
  seed: ui(z.number().int().min(0).default(42), { ...basic, widget: 'seed' }),
  flip_aug: ui(z.boolean().default(false), basic).describe(
    'Random horizontal flips (the flipped latent is cached too).',
  ),
  shuffle_caption: ui(z.boolean().default(false), basic),
  keep_tokens: ui(z.number().int().min(0).default(0), basic).describe(
    'Leading tags kept in place when shuffling.',
  ),
  // advanced
  conv_dim: ui(z.number().int().min(0).max(1024).default(0), advanced).describe(
    'LoCon rank for ResBlock / Down / Upsample convolutions; 0 = off.',
  ),
  conv_alpha: ui(z.number().min(0).default(1), advanced),
  network_dropout: ui(z.number().min(0).max(0.99).default(0), advanced),
  optimizer_args: ui(z.string().default(''), advanced).describe(
    'JSON object, e.g. {"weight_decay":0.01,"betas":[0.9,0.999]}.',
  ),
  lr_warmup_steps: ui(z.number().min(0).default(0), advanced).describe(
    'Steps, or a ratio of the total when < 1.',
  ),
  lr_scheduler_num_cycles: ui(z.number().min(0).default(1), advanced),
  lr_scheduler_power: ui(z.number().min(0).default(1), advanced),
  gradient_accumulation_steps: ui(z.number().int().min(1).default(1), advanced),
  max_grad_norm: ui(z.number().min(0).default(1), advanced),
  gradient_checkpointing: ui(z.boolean().default(false), advanced),
  noise_offset: ui(z.number().min(0).max(1).default(0), advanced),
  min_snr_gamma: ui(z.number().min(0).default(0), advanced).describe('0 = off; 5 is typical.'),
  loss_type: ui(z.enum(['l2', 'l1', 'huber', 'smooth_l1']).default('l2'), advanced),
  huber_c: ui(z.number().positive().default(0.1), advanced),
  v_parameterization: ui(z.boolean().default(false), advanced),
  min_timestep: ui(z.number().int().min(0).max(999).default(0), advanced),
  max_timestep: ui(z.number().int().min(1).max(1000).default(1000), advanced),
  prior_loss_weight: ui(z.number().min(0).default(1), advanced),
  caption_dropout_rate: ui(z.number().min(0).max(1).default(0), advanced),
  caption_tag_dropout_rate: ui(z.number().min(0).max(1).default(0), advanced),
  keep_tokens_separator: ui(z.string().default(''), advanced),
  clip_skip: ui(z.number().int().min(1).max(12).default(1), advanced),
  min_bucket_reso: ui(autoOr(z.number().int().min(64).multipleOf(64), AUTO_MIN_BUCKET), advanced).describe(
    `Smallest bucket side; ${AUTO_MIN_BUCKET}.`,
  ),
  max_bucket_reso: ui(autoOr(z.number().int().min(64).multipleOf(64), AUTO_MAX_BUCKET), advanced).describe(
    `Largest bucket side; ${AUTO_MAX_BUCKET}.`,
  ),
  bucket_no_upscale: ui(z.boolean().default(false), advanced),
  save_every_n_epochs: ui(z.number().int().min(0).default(0), advanced),
  save_every_n_steps: ui(z.number().int().min(0).default(0), advanced),
  save_last_n: ui(z.number().int().min(0).default(0), advanced).describe(
    'Keep only the last N checkpoints; 0 = all.',
  ),
  save_state_every_n_minutes: ui(z.number().min(0).default(10), advanced).describe(
    'Save the resume state at least this often, so a crash loses at most this much training; 0 = only at checkpoints.',
  ),
  sample_prompts: ui(z.string().default(''), { ...advanced, widget: 'multiline' }).describe(
    'One prompt per line in kohya syntax (--n negative, --w/--h size, --d seed, --s steps, --l CFG, --ss sampler).',
  ),
  sample_every_n_steps: ui(z.number().int().min(0).default(0), advanced),
  sample_every_n_epochs: ui(z.number().int().min(0).default(0), advanced),
  sample_sampler: ui(z.enum(['euler_a', 'euler', 'ddim', 'dpmpp_2m']).default('euler_a'), advanced),
  max_nan_steps: ui(z.number().int().min(1).default(3), advanced).describe(
    'Consecutive NaN/Inf steps before training stops (each is skipped and reported).',
  ),
});
export type TrainParams = z.infer<typeof trainParams>;

export type TrainBuckets = { resolution: number; min: number; max: number; text: string };

/**
 * The bucket settings on a model: resolution "auto" is the model's own size; min/max "auto" keep kohya's 512 px
 * defaults' ratios (256 and 1024 = resolution / 2 and x 2, min rounded down to the 64 px step), so SDXL gets
 * 1024² buckets from 512 to 2048 px, as kohya users set them for SDXL.
 */
export function trainBuckets(
  p: Pick<TrainParams, 'resolution' | 'min_bucket_reso' | 'max_bucket_reso'>,
  arch: ModelArch,
): TrainBuckets {
  const resolution = resolveSize(p.resolution, arch);
  const min =
    p.min_bucket_reso === AUTO ? Math.max(64, Math.floor(resolution / 2 / 64) * 64) : p.min_bucket_reso;
  const max = p.max_bucket_reso === AUTO ? resolution * 2 : p.max_bucket_reso;
  if (min > max)
    throw new Error(
      `LoRA Train: min_bucket_reso (${min}) is larger than max_bucket_reso (${max}); lower min_bucket_reso or raise max_bucket_reso`,
    );
  const autoBounds = [p.min_bucket_reso === AUTO && 'min', p.max_bucket_reso === AUTO && 'max'].filter(
    Boolean,
  );
  const boundsNote =
    autoBounds.length === 2 ? ' (auto)' : autoBounds.length === 1 ? ` (${autoBounds[0]} auto)` : '';
  const resolutionNote = p.resolution === AUTO ? ` (auto for ${arch})` : '';
  return {
    resolution,
    min,
    max,
    text: `${resolution}x${resolution}${resolutionNote}, buckets ${min} to ${max} px${boundsNote}`,
  };
}

/** Node params that only shape the dataset / latents (not sent to the engine's training params). */
const DATASET_ONLY = ['resolution', 'min_bucket_reso', 'max_bucket_reso', 'bucket_no_upscale'] as const;

/** The engine's `params` object: kohya names, optimizer_args parsed, unset optional lrs left out. */
export function engineTrainParams(p: TrainParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if ((DATASET_ONLY as readonly string[]).includes(k) || v === undefined) continue;
    out[k] = v;
  }
  let args: unknown = {};
  if (p.optimizer_args.trim() !== '') {
    try {
      args = JSON.parse(p.optimizer_args);
    } catch {
      throw new Error(
        `LoRA Train: optimizer_args must be a JSON object, e.g. {"weight_decay":0.01} (got ${p.optimizer_args})`,
      );
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      throw new Error('LoRA Train: optimizer_args must be a JSON object such as {"weight_decay":0.01}');
  }
  out.optimizer_args = args;
  if (p.text_encoder_lr === 0) {
    out.network_train_unet_only = true;
    delete out.text_encoder_lr;
  }
  return out;
}
