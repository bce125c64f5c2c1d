import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createNodeTestContext,
  type NodeTestContext,
  runNodeForTest,
} from '../../tests/helpers/nodeTestContext.ts';
import type { ImagesValue, ModelValue } from '../sdk/values.ts';
import {
  REGULARIZATION_NODE_TYPE,
  REGULARIZATION_NODE_VERSION,
  regularizationGenerate,
} from './regularization.ts';
import { FakeSamplingEngine } from './testing/fakeEngine.ts';

const model: ModelValue = {
  kind: 'model',
  path: '/models/sd15.safetensors',
  sha256: 'b'.repeat(64),
  arch: 'sd1',
  config: {},
};
const base = { classPrompt: 'a photo of a dog', width: 64, height: 64, steps: 2, seed: 1000 };

let dir: string;
let engine: FakeSamplingEngine;
const open: NodeTestContext[] = [];

/** A fresh context on the same data dir: same database, so the per-item cache persists across "runs". */
function context(signal?: AbortSignal): NodeTestContext {
  const t = createNodeTestContext({
    dataDir: dir,
    services: { engine },
    nodeType: REGULARIZATION_NODE_TYPE,
    nodeVersion: REGULARIZATION_NODE_VERSION,
    ...(signal ? { signal } : {}),
  });
  open.push(t);
  return t;
}

const seedsSampled = () => engine.sampleCalls.flatMap((c) => c.seeds as number[]);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loraflow-reg-'));
  engine = new FakeSamplingEngine();
});
afterEach(() => {
  for (const t of open.splice(0)) t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Regularization Generate', () => {
  it('flags images as regularization with the class prompt as caption', async () => {
    const { outputs, display } = await runNodeForTest(
      regularizationGenerate,
      context(),
      { model },
      { ...base, count: 3 },
    );
    const items = (outputs.images as ImagesValue).items;
    expect(items).toHaveLength(3);
    expect(items.every((i) => i.regularization && i.caption === 'a photo of a dog')).toBe(true);
    expect(new Set(items.map((i) => i.hash)).size).toBe(3);
    expect(seedsSampled()).toEqual([1000, 1001, 1002]);
    expect(display).toMatchObject({ generated: 3, cached: 0 });
  });

  it('a second run generates nothing; raising the count generates only the new images', async () => {
    const first = await runNodeForTest(regularizationGenerate, context(), { model }, { ...base, count: 3 });
    engine.calls.length = 0;
    const second = await runNodeForTest(regularizationGenerate, context(), { model }, { ...base, count: 3 });
    expect(seedsSampled()).toEqual([]);
    expect(second.outputs).toEqual(first.outputs);
    const more = await runNodeForTest(regularizationGenerate, context(), { model }, { ...base, count: 5 });
    expect(seedsSampled()).toEqual([1003, 1004]);
    expect((more.outputs.images as ImagesValue).items.slice(0, 3)).toEqual(
      (first.outputs.images as ImagesValue).items,
    );
    expect(more.display).toMatchObject({ generated: 2, cached: 3 });
    // A different prompt, model or setting is a different cache entry.
    engine.calls.length = 0;
    await runNodeForTest(regularizationGenerate, context(), { model }, { ...base, count: 2, cfgScale: 5 });
    expect(seedsSampled()).toEqual([1000, 1001]);
  });

  it('generates at the model size by default; auto and the number it stands for share cached images', async () => {
    const { width: _w, height: _h, ...auto } = base;
    const xl = await runNodeForTest(
      regularizationGenerate,
      context(),
      { model: { ...model, arch: 'sdxl', sha256: 'c'.repeat(64) } },
      { ...auto, count: 1 },
    );
    expect(engine.sampleCalls[0]).toMatchObject({ width: 1024, height: 1024 });
    expect(xl.display?.size).toBe('1024x1024 (auto for sdxl)');
    expect((xl.outputs.images as ImagesValue).items[0]).toMatchObject({ width: 1024, height: 1024 });

    engine.calls.length = 0;
    const t = context();
    const sd1 = await runNodeForTest(regularizationGenerate, t, { model }, { ...auto, count: 2 });
    expect(engine.sampleCalls.map((c) => [c.width, c.height])).toEqual([
      [512, 512],
      [512, 512],
    ]);
    expect(t.logs.map((l) => l.message)).toContain('size: 512x512 (auto for sd1)');
    // A workflow saved with 512 before auto existed finds the same images.
    engine.calls.length = 0;
    const explicit = await runNodeForTest(
      regularizationGenerate,
      context(),
      { model },
      { ...auto, width: 512, height: 512, count: 2 },
    );
    expect(seedsSampled()).toEqual([]);
    expect(explicit.outputs).toEqual(sd1.outputs);
    expect(explicit.display?.size).toBe('512x512');
  });

  it('an interrupted run resumes where it stopped', async () => {
    const controller = new AbortController();
    engine.abortOnSample = { call: 3, controller };
    await expect(
      runNodeForTest(regularizationGenerate, context(controller.signal), { model }, { ...base, count: 4 }),
    ).rejects.toThrow();
    expect(seedsSampled()).toEqual([1000, 1001, 1002]); // the third call was the one interrupted
    engine.abortOnSample = undefined;
    engine.calls.length = 0;
    const { outputs } = await runNodeForTest(
      regularizationGenerate,
      context(),
      { model },
      { ...base, count: 4 },
    );
    expect(seedsSampled()).toEqual([1002, 1003]);
    expect((outputs.images as ImagesValue).items).toHaveLength(4);
  });
});
