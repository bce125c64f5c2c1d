import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createNodeTestContext,
  type NodeTestContext,
  runNodeForTest,
} from '../../tests/helpers/nodeTestContext.ts';
import { parseA1111Parameters } from '../png/a1111.ts';
import { getPngText } from '../png/textChunks.ts';
import type { ImagesValue, LoraValue, ModelValue } from '../sdk/values.ts';
import { TE_STRENGTH_KEY, UNET_STRENGTH_KEY } from './loraStrengths.ts';
import { promptLines, sample } from './sample.ts';
import { WORKFLOW_KEYWORD } from './samplePng.ts';
import { FakeSamplingEngine } from './testing/fakeEngine.ts';

const model: ModelValue = {
  kind: 'model',
  path: '/models/sd15.safetensors',
  sha256: 'a'.repeat(64),
  arch: 'sd1',
  config: {},
};
const workflow = {
  format: 'loraflow.workflow',
  version: 1,
  nodes: [],
  links: [],
  meta: { name: 'w', created_with: 't' },
};

let dir: string;
let t: NodeTestContext;
let engine: FakeSamplingEngine;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loraflow-sample-'));
  engine = new FakeSamplingEngine();
  t = createNodeTestContext({ dataDir: dir, services: { engine, workflow } });
});
afterEach(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Sample node', () => {
  it('splits prompts by line', () => {
    expect(promptLines(' a dog \n\n a cat\r\n')).toEqual(['a dog', 'a cat']);
  });

  it('returns one PNG per prompt x batch, with the workflow and A1111 parameters embedded', async () => {
    const { outputs, display } = await runNodeForTest(
      sample,
      t,
      { model, loras: [] },
      {
        prompt: 'a dog\na cat',
        negativePrompt: 'blurry',
        batchCount: 2,
        width: 64,
        height: 72,
        steps: 3,
        seed: 10,
      },
    );
    const images = outputs.images as ImagesValue;
    expect(images.items).toHaveLength(4);
    expect(images.items.map((i) => i.caption)).toEqual(['a dog', 'a dog', 'a cat', 'a cat']);
    const call = engine.sampleCalls[0]!;
    expect(call).toMatchObject({
      model_id: 'sd1-fake',
      prompts: ['a dog', 'a cat'],
      batch_count: 2,
      seed: 10,
      cfg_scale: 7,
      prediction: 'eps',
    });
    const png = await t.store.get(images.items[1]!.hash);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([64, 72, 'png']);
    expect(JSON.parse(getPngText(png, WORKFLOW_KEYWORD)!)).toEqual(workflow);
    const params = parseA1111Parameters(getPngText(png, 'parameters')!);
    expect(params).toMatchObject({ prompt: 'a dog', negativePrompt: 'blurry' });
    expect(params.settings).toMatchObject({
      Seed: 11,
      Steps: 3,
      'CFG scale': 7,
      Size: '64x72',
      'Model hash': 'aaaaaaaaaa',
    });
    expect(display?.images).toHaveLength(4);
    // Live previews became PNG data URLs.
    const previews = t.events.filter((e) => e.type === 'sample.preview');
    expect(previews.length).toBeGreaterThan(0);
    expect((previews.at(-1)!.data as { image: string; step: number }).image).toMatch(
      /^data:image\/png;base64,/,
    );
    expect((previews.at(-1)!.data as { step: number }).step).toBe(3);
  });

  it('passes each LoRA with the strengths from its value, defaulting to 1', async () => {
    const lora = (name: string, metadata: Record<string, string>): LoraValue => ({
      kind: 'lora',
      hash: name.repeat(64).slice(0, 64),
      path: `/models/${name}.safetensors`,
      name,
      metadata,
    });
    await runNodeForTest(
      sample,
      t,
      { model, loras: [lora('b', { [UNET_STRENGTH_KEY]: '0.5', [TE_STRENGTH_KEY]: '0' }), lora('c', {})] },
      { width: 64, height: 64, steps: 1 },
    );
    expect(engine.sampleCalls[0]!.loras).toEqual([
      { path: '/models/b.safetensors', unet_strength: 0.5, te_strength: 0 },
      { path: '/models/c.safetensors', unet_strength: 1, te_strength: 1 },
    ]);
  });

  it('rejects sizes that are not multiples of 8 and empty prompts with clear messages', async () => {
    await expect(runNodeForTest(sample, t, { model }, { width: 100 })).rejects.toThrow(
      /width must be a multiple of 8/,
    );
    await expect(runNodeForTest(sample, t, { model }, { prompt: '  \n ' })).rejects.toThrow(/write a prompt/);
  });

  it('samples at the model size by default and says so; explicit sizes stay as they are', async () => {
    const sizes: [ModelValue['arch'], number][] = [
      ['sd1', 512],
      ['sd2', 512],
      ['sd2-v', 768],
      ['sdxl', 1024],
    ];
    for (const [arch, side] of sizes) {
      engine.calls.length = 0;
      t.logs.length = 0;
      const r = await runNodeForTest(sample, t, { model: { ...model, arch } }, { steps: 1 });
      expect(engine.sampleCalls[0]).toMatchObject({ width: side, height: side });
      expect(r.display?.size).toBe(`${side}x${side} (auto for ${arch})`);
      expect(t.logs.map((l) => l.message)).toContain(`size: ${side}x${side} (auto for ${arch})`);
      const png = await t.store.get((r.outputs.images as ImagesValue).items[0]!.hash);
      expect((await sharp(png).metadata()).width).toBe(side);
    }
    // A workflow saved with 512 (before auto existed) still samples 512 on SDXL; one side may be auto.
    engine.calls.length = 0;
    const r = await runNodeForTest(
      sample,
      t,
      { model: { ...model, arch: 'sdxl' } },
      { width: 512, height: 'auto', steps: 1 },
    );
    expect(engine.sampleCalls[0]).toMatchObject({ width: 512, height: 1024 });
    expect(r.display?.size).toBe('512x1024 (height auto for sdxl)');
  });

  it('uses v-prediction automatically for SD2 768-v models', async () => {
    await runNodeForTest(
      sample,
      t,
      { model: { ...model, arch: 'sd2-v' } },
      { width: 64, height: 64, steps: 1 },
    );
    expect(engine.sampleCalls[0]!.prediction).toBe('v');
  });
});
