import { z } from 'zod';

/** Result of the engine's `load_model` op (the fields the nodes use). */
export const LoadModelResult = z.looseObject({
  model_id: z.string().min(1),
  arch: z.string(),
  config: z.record(z.string(), z.unknown()).optional(),
});
export type LoadModelResult = z.infer<typeof LoadModelResult>;

/** Result of the engine's `sample` op. */
export const SampleResult = z.looseObject({
  path: z.string().min(1),
  shape: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.literal(3)]),
  seeds: z.array(z.number().int().nonnegative()),
  prompt_index: z.array(z.number().int().nonnegative()),
  sampler: z.string(),
  sampler_label: z.string(),
  scheduler: z.string(),
  prediction: z.enum(['eps', 'v']),
  loras: z.array(z.looseObject({ path: z.string(), unmatched_keys: z.number().int() })).default([]),
  seconds: z.number().optional(),
});
export type SampleResult = z.infer<typeof SampleResult>;

/** The engine's live preview event (`sample_ops.cpp`): raw RGB at latent resolution, base64. */
export const SamplePreviewEvent = z.object({
  type: z.literal('sample.preview'),
  image: z.number().int().nonnegative(),
  step: z.number().int().positive(),
  steps: z.number().int().positive(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  format: z.literal('rgb8'),
  data: z.string(),
});
export type SamplePreviewEvent = z.infer<typeof SamplePreviewEvent>;

export function parseEngineResult<T>(schema: z.ZodType<T>, value: unknown, op: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new Error(
      `the engine's ${op} reply has an unexpected shape (${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? ''}); rebuild the engine so it matches the server`,
    );
  }
  return r.data;
}
