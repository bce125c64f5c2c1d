// npm run make:demo-data -- [--out DIR] [--seed N] [--count N] [--concept-count N]
// Writes the procedural demo data set: DIR/base/1_shapes (the demo model's training set) and
// DIR/concept/10_zkz star (the quickstart's LoRA concept). The default DIR is the quickstart's dataset folder.
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseCliOptions } from './cliOptions.ts';
import { DEFAULT_OUT, writeDemoData } from './write.ts';

const Options = z.object({
  out: z.string().min(1).default(DEFAULT_OUT),
  seed: z.coerce.number().int().min(0).max(0xffffffff).default(1),
  count: z.coerce.number().int().min(0).max(100_000).default(420),
  'concept-count': z.coerce.number().int().min(1).max(10_000).default(12),
});

async function main(): Promise<void> {
  const o = parseCliOptions(Options);
  const out = resolve(o.out);
  const started = performance.now();
  const { base, concept } = await writeDemoData({
    out,
    seed: o.seed,
    count: o.count,
    conceptCount: o['concept-count'],
  });
  const ms = Math.round(performance.now() - started);
  console.log(`base set:    ${base.files.length} images in ${base.folder}`);
  console.log(`concept set: ${concept.files.length} images in ${concept.folder}`);
  console.log(`seed ${o.seed}, ${ms} ms`);
}

await main();
