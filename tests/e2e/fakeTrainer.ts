import sharp from 'sharp';
import { z } from 'zod';
import {
  TRAINING_METRICS,
  TRAINING_SAMPLE,
  type TrainingMetrics,
  type TrainingSample,
} from '../../client/src/features/dashboard/trainingEvents.ts';
import { defineNode } from '../../nodes/sdk/defineNode.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Test-only stand-in for a LoRA trainer: emits exactly the dashboard's `training.metrics` and
 * `training.sample` events (validated by their zod schemas) while "training" for `steps` steps.
 */
export const fakeTrainer = defineNode({
  type: 'test/e2e/fake-trainer',
  version: '1.0.0',
  title: 'Fake LoRA Train',
  category: 'test',
  description: 'Emits training metrics and sample images like a LoRA trainer',
  heavy: true,
  inputs: { images: { type: 'IMAGES', optional: true } },
  outputs: { lora: { type: 'LORA' } },
  params: z.object({
    steps: z.number().int().min(1).max(10_000).default(60),
    stepMs: z.number().int().min(0).max(1000).default(10),
    sampleEvery: z.number().int().min(1).default(20),
  }),
  async run(ctx, _inputs, p) {
    for (let step = 1; step <= p.steps; step++) {
      await sleep(p.stepMs);
      const loss = 0.2 + 0.5 * Math.exp(-step / 15) + 0.03 * Math.sin(step);
      const metrics: TrainingMetrics = {
        step,
        epoch: Math.ceil(step / 20),
        loss,
        loss_avg: loss,
        lr: { unet: 1e-4, te: 5e-5 },
        its: 1000 / Math.max(1, p.stepMs),
        eta_s: step < 5 ? null : ((p.steps - step) * p.stepMs) / 1000,
        mem_mb: 1234,
        total_steps: p.steps,
      };
      ctx.emit({ type: TRAINING_METRICS, data: metrics });
      if (step % p.sampleEvery === 0) {
        const shade = Math.round((255 * step) / p.steps);
        const png = await sharp({
          create: { width: 32, height: 32, channels: 3, background: { r: shade, g: 80, b: 255 - shade } },
        })
          .png()
          .toBuffer();
        const sample: TrainingSample = {
          step,
          prompt: 'sks dog on a beach',
          image: await ctx.store.put(png),
        };
        ctx.emit({ type: TRAINING_SAMPLE, data: sample });
      }
      ctx.progress(step, p.steps, `step ${step}/${p.steps}`);
    }
    const hash = await ctx.store.put(new TextEncoder().encode('not really a lora'));
    return { outputs: { lora: { kind: 'lora', hash, name: 'fake', metadata: {} } } };
  },
});
