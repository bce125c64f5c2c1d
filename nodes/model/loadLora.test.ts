import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRoots } from '../../server/fs/roots.ts';
import {
  createNodeTestContext,
  type NodeTestContext,
  runNodeForTest,
} from '../../tests/helpers/nodeTestContext.ts';
import { loraStrengths } from '../sample/loraStrengths.ts';
import type { LoraValue } from '../sdk/values.ts';
import { loadLora } from './loadLora.ts';

let dir: string;
let t: NodeTestContext;

/** A valid safetensors file: the data region is exactly as long as the tensors' offsets say. */
function safetensors(header: Record<string, unknown>): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const ends = Object.values(header).map((v) => (v as { data_offsets?: number[] }).data_offsets?.[1] ?? 0);
  return Buffer.concat([len, h, Buffer.alloc(Math.max(0, ...ends))]);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loraflow-loadlora-'));
  mkdirSync(join(dir, 'models', 'loras'), { recursive: true });
  const roots = createRoots({ dataset: [], model: [join(dir, 'models')], output: join(dir, 'out') });
  t = createNodeTestContext({ dataDir: join(dir, 'data'), services: { roots } });
});
afterEach(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Load LoRA', () => {
  it('outputs the LoRA with its strengths and shows base model, rank and trigger words', async () => {
    writeFileSync(
      join(dir, 'models', 'loras', 'dog.safetensors'),
      safetensors({
        __metadata__: { ss_sd_model_name: 'v1-5-pruned', ss_tag_frequency: '{"a":{"sks":3}}' },
        'lora_unet_a.lora_down.weight': { dtype: 'F32', shape: [8, 2], data_offsets: [0, 64] },
      }),
    );
    const { outputs, display } = await runNodeForTest(
      loadLora,
      t,
      {},
      { file: 'loras/dog.safetensors', strength: 0.7 },
    );
    const lora = outputs.lora as LoraValue;
    expect(lora).toMatchObject({ kind: 'lora', name: 'dog' });
    expect(t.store.has(lora.hash)).toBe(true);
    expect(loraStrengths(lora)).toEqual({ unet_strength: 0.7, te_strength: 0.7 });
    expect(display).toMatchObject({ baseModel: 'v1-5-pruned', rank: 8, triggerWords: ['sks'] });
  });

  it('refuses files that hold no kohya LoRA weights', async () => {
    writeFileSync(
      join(dir, 'models', 'peft.safetensors'),
      safetensors({ 'unet.x.lora_A.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }),
    );
    await expect(runNodeForTest(loadLora, t, {}, { file: 'peft.safetensors' })).rejects.toThrow(
      /no kohya LoRA weights/,
    );
  });
});
