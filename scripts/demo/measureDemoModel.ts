// npm run measure:demo-model -- [--model FILE] [--per-prompt N] [--seed N] [--steps N] [--cfg X]
// The demo model's quality figures without training: samples every (shape, colour) prompt of the base set
// (scripts/demo/model/sampleQuality.ts) and prints per-shape and per-colour accuracy. The model card's
// figures come from this with --per-prompt 3.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { EngineClient } from '../../server/engine/engineClient.ts';
import { parseCliOptions } from './cliOptions.ts';
import { measureQuality } from './model/sampleQuality.ts';

const Options = z.object({
  model: z.string().min(1).default('models/demo/loraflow-demo-sd1.safetensors'),
  'per-prompt': z.coerce.number().int().min(1).max(20).default(3),
  seed: z.coerce.number().int().min(0).default(1000),
  steps: z.coerce.number().int().min(1).max(200).default(20),
  cfg: z.coerce.number().min(1).max(30).default(5),
});

async function main(): Promise<void> {
  const a = parseCliOptions(Options);
  const workDir = mkdtempSync(join(tmpdir(), 'loraflow-measure-'));
  const client = new EngineClient({ workDir });
  try {
    const { model_id } = (await client.request('load_model', { path: resolve(a.model), dtype: 'fp32' })) as {
      model_id: string;
    };
    const q = await measureQuality(client, model_id, {
      perPrompt: a['per-prompt'],
      seed: a.seed,
      steps: a.steps,
      cfgScale: a.cfg,
    });
    const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
    const r = q.report;
    console.log(
      `${a.model}: ${r.images} samples (${a['per-prompt']} per prompt, seed ${a.seed}, ${a.steps} steps, CFG ${a.cfg})`,
    );
    for (const [kind, table] of [
      ['shape', r.shape],
      ['colour', r.color],
    ] as const) {
      for (const [k, t] of Object.entries(table))
        console.log(
          `  ${kind.padEnd(6)} ${k.padEnd(8)} ${String(t.correct).padStart(3)}/${t.total}  ${pct(t.accuracy)}`,
        );
    }
    for (const [kind, table] of [
      ['shape', r.shape],
      ['colour', r.color],
    ] as const) {
      const correct = Object.values(table).reduce((n, t) => n + t.correct, 0);
      const total = Object.values(table).reduce((n, t) => n + t.total, 0);
      console.log(
        `  ${kind.padEnd(6)} all      ${String(correct).padStart(3)}/${total}  ${pct(correct / total)}`,
      );
    }
    console.log(
      `  both            ${String(r.both.correct).padStart(3)}/${r.both.total}  ${pct(r.both.accuracy)}`,
    );
    console.log(`  sampling took ${q.seconds.toFixed(1)} s`);
  } finally {
    await client.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
