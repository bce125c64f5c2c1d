// The demo model's quality figures: it draws every (shape, colour) pair of the base set from a prompt, and the
// evaluator (scripts/demo/evaluate.ts) classifies each sample's shape and colour.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineClient } from '../../../server/engine/engineClient.ts';
import { SafetensorsReader } from '../../../server/engine/safetensors.ts';
import { IMAGE_SIZE } from '../dataset.ts';
import { evaluateRgb } from '../evaluate.ts';
import { BACKGROUND_COLORS, BASE_SHAPE_COLORS } from '../palette.ts';
import { parsePrompt, type QualityReport, qualityReport, type Scored } from '../quality.ts';
import { BASE_SHAPES } from '../shapes.ts';

export interface QualityOptions {
  /** Images per prompt (seeds seed, seed + 1, ...). */
  perPrompt: number;
  seed: number;
  steps: number;
  cfgScale: number;
}

/** One prompt per base (shape, colour) pair, on a background that cycles through the other colours. */
export function qualityPrompts(): string[] {
  const prompts: string[] = [];
  let i = 0;
  for (const shape of BASE_SHAPES) {
    for (const color of BASE_SHAPE_COLORS) {
      const bgs = BACKGROUND_COLORS.filter((c) => c !== color);
      prompts.push(`a large ${color} ${shape} on a ${bgs[i++ % bgs.length]} background`);
    }
  }
  return prompts;
}

export async function measureQuality(
  client: EngineClient,
  modelId: string,
  o: QualityOptions,
): Promise<{ report: QualityReport; scored: Scored[]; seconds: number }> {
  const prompts = qualityPrompts();
  const dir = mkdtempSync(join(tmpdir(), 'loraflow-quality-'));
  try {
    const out = join(dir, 'samples.safetensors');
    const r = (await client.request('sample', {
      model_id: modelId,
      prompts,
      negative_prompt: '',
      batch_count: o.perPrompt,
      width: IMAGE_SIZE,
      height: IMAGE_SIZE,
      steps: o.steps,
      cfg_scale: o.cfgScale,
      sampler: 'dpmpp_2m',
      seed: o.seed,
      out,
    })) as { prompt_index: number[]; seconds: number };
    const images = SafetensorsReader.open(out).read('images');
    const px = IMAGE_SIZE * IMAGE_SIZE * 3;
    const scored: Scored[] = r.prompt_index.map((p, i) => {
      const prompt = prompts[p]!;
      const rgb = (images.data as Uint8Array).subarray(i * px, (i + 1) * px);
      return { prompt, target: parsePrompt(prompt), result: evaluateRgb(rgb, IMAGE_SIZE, IMAGE_SIZE) };
    });
    return { report: qualityReport(scored), scored, seconds: r.seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
