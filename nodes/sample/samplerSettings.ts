import { z } from 'zod';
import { AUTO_HELP, type AutoOr, autoOr, describeSize, resolveSize } from '../model/autoSize.ts';
import { ui } from '../sdk/ui.ts';
import type { ModelArch } from '../sdk/values.ts';

/** Sampler names the engine accepts (native/src/sampling/samplers.h). */
export const SamplerName = z.enum(['euler_a', 'euler', 'ddim', 'dpmpp_2m']);
/** Sigma schedules (native/src/sampling/noise_schedule.h); `default` = the sampler's usual one. */
export const SchedulerName = z.enum(['default', 'normal', 'karras', 'leading', 'trailing']);

const pixels = (side: 'width' | 'height') =>
  ui(autoOr(z.number().int().min(64).max(2048).multipleOf(8, 'must be a multiple of 8')), {
    widget: 'slider',
    step: 8,
  }).describe(`Image ${side} in pixels (multiple of 8; SD1 UNets need multiples of 64), or ${AUTO_HELP}.`);

/** Params shared by Sample and Regularization Generate (spread into each node's z.object). */
export const samplerSettingsShape = {
  width: pixels('width'),
  height: pixels('height'),
  steps: ui(z.number().int().min(1).max(150).default(20), { widget: 'slider', step: 1 }),
  cfgScale: ui(z.number().min(1).max(30).default(7), { widget: 'slider', step: 0.5 }).describe(
    'Classifier-free guidance; 1 disables it (no unconditional pass, half the cost).',
  ),
  sampler: SamplerName.default('euler_a').describe(
    'euler_a, euler, ddim or dpmpp_2m (DPM++ 2M, Karras by default).',
  ),
  scheduler: ui(SchedulerName.default('default'), { group: 'advanced' }).describe(
    'Sigma schedule: default (euler: normal, ddim: leading, dpmpp_2m: karras), normal, karras, leading, trailing.',
  ),
  eta: ui(z.number().min(0).max(1).default(0), { group: 'advanced', step: 0.05 }).describe(
    'DDIM eta: 0 deterministic, 1 DDPM-like fresh noise. Ignored by the other samplers.',
  ),
  clipSkip: ui(z.number().int().min(1).max(12).default(1), { group: 'advanced' }).describe(
    'A1111 clip skip: 1 = last CLIP layer, 2 = penultimate.',
  ),
  prediction: ui(z.enum(['auto', 'eps', 'v']).default('auto'), { group: 'advanced' }).describe(
    'What the UNet predicts: auto (v for SD2 768-v models, eps otherwise).',
  ),
  seed: ui(
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(0),
    { widget: 'seed' },
  ).describe('Image i uses seed + i; the same seed and settings give the same image on the same device.'),
};

export const SamplerSettings = z.object(samplerSettingsShape);
export type SamplerSettings = z.infer<typeof SamplerSettings>;

/** The pixel size the settings sample at on a model, and how to say it ("1024x1024 (auto for sdxl)"). */
export function samplerSize(
  s: { width: AutoOr; height: AutoOr },
  arch: ModelArch,
): { width: number; height: number; text: string } {
  return {
    width: resolveSize(s.width, arch),
    height: resolveSize(s.height, arch),
    text: describeSize(s.width, s.height, arch),
  };
}

/** Engine `sample` op arguments for the settings. */
export function engineSamplerArgs(s: SamplerSettings, arch: ModelArch): Record<string, unknown> {
  const { width, height } = samplerSize(s, arch);
  return {
    width,
    height,
    steps: s.steps,
    cfg_scale: s.cfgScale,
    sampler: s.sampler,
    ...(s.scheduler === 'default' ? {} : { scheduler: s.scheduler }),
    ...(s.sampler === 'ddim' ? { eta: s.eta } : {}),
    clip_skip: s.clipSkip,
    prediction: s.prediction === 'auto' ? (arch === 'sd2-v' ? 'v' : 'eps') : s.prediction,
  };
}
