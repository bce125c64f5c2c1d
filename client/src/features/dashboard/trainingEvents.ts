import { z } from 'zod';
import { Sha256 } from '../../../../nodes/sdk/values.ts';

/**
 * Events a LoRA training node emits with `ctx.emit({type, data})`. The server stores them per run
 * (`GET /api/runs/:id/events?node=&type=`) and forwards them live as `node.event` messages; the training
 * dashboard draws itself from both. Trainers must emit exactly these shapes.
 */

export const TRAINING_METRICS = 'training.metrics';
export const TRAINING_SAMPLE = 'training.sample';

/** One optimizer step's figures. Emit every step (or every N steps; the chart does not assume a spacing). */
export const TrainingMetrics = z.object({
  /** Optimizer step, counted from 1 across the whole run (after gradient accumulation). */
  step: z.number().int().positive(),
  /** Current epoch, counted from 1. */
  epoch: z.number().int().positive(),
  /** The loss of this step (mean over the batch, before any smoothing). */
  loss: z.number().finite(),
  /** The trainer's own running average of the loss since the start of the run (or the epoch). */
  loss_avg: z.number().finite(),
  /** Learning rates in effect for this step; `te` is 0 while the text encoder is not trained. */
  lr: z.object({ unet: z.number().nonnegative(), te: z.number().nonnegative() }),
  /** Optimizer steps per second, smoothed over recent steps. */
  its: z.number().nonnegative(),
  /** Estimated seconds to the end of training; null until enough steps have run to estimate. */
  eta_s: z.number().nonnegative().nullable(),
  /** Peak device memory in MiB since the previous report (GPU memory, or process RSS on CPU). */
  mem_mb: z.number().nonnegative(),
  /** Total optimizer steps planned, when known (lets the dashboard show step n / total). */
  total_steps: z.number().int().positive().optional(),
});
export type TrainingMetrics = z.infer<typeof TrainingMetrics>;

/** A sample image rendered during training with the LoRA as trained so far. */
export const TrainingSample = z.object({
  /** Optimizer step at which the sample was rendered. */
  step: z.number().int().nonnegative(),
  /** The prompt it was rendered from. */
  prompt: z.string(),
  /** sha256 of the PNG in the artifact store (`GET /api/artifacts/<hash>`). */
  image: Sha256,
  /** Seed used, when the trainer reports it. */
  seed: z.number().int().optional(),
});
export type TrainingSample = z.infer<typeof TrainingSample>;

export const TrainingEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal(TRAINING_METRICS), data: TrainingMetrics }),
  z.object({ type: z.literal(TRAINING_SAMPLE), data: TrainingSample }),
]);
export type TrainingEvent = z.infer<typeof TrainingEvent>;

/** Parses a stored or live node event; anything else (or malformed) gives null. */
export function parseTrainingEvent(type: string, data: unknown): TrainingEvent | null {
  const r = TrainingEvent.safeParse({ type, data });
  return r.success ? r.data : null;
}
