import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRoots } from '../../server/fs/roots.ts';
import {
  createNodeTestContext,
  type NodeTestContext,
  runNodeForTest,
} from '../../tests/helpers/nodeTestContext.ts';
import { FakeSamplingEngine } from '../sample/testing/fakeEngine.ts';
import type { ModelValue } from '../sdk/values.ts';
import { loadCheckpoint } from './loadCheckpoint.ts';

let dir: string;
let t: NodeTestContext;
let engine: FakeSamplingEngine;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loraflow-ckpt-'));
  mkdirSync(join(dir, 'models'));
  mkdirSync(join(dir, 'data'));
  engine = new FakeSamplingEngine();
  const roots = createRoots({ dataset: [], model: [join(dir, 'models')], output: join(dir, 'data') });
  t = createNodeTestContext({ dataDir: join(dir, 'data'), services: { engine, roots } });
});
afterEach(() => {
  t.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('Load Checkpoint', () => {
  it('outputs MODEL with the file sha256, validated through load_model', async () => {
    writeFileSync(join(dir, 'models', 'm.safetensors'), 'weights-v1');
    const { outputs } = await runNodeForTest(loadCheckpoint, t, {}, { file: 'm.safetensors' });
    const model = outputs.model as ModelValue;
    expect(model).toMatchObject({ kind: 'model', arch: 'sd1', sha256: sha('weights-v1') });
    expect(engine.calls[0]).toMatchObject({
      op: 'load_model',
      args: { path: model.path, sha256: sha('weights-v1') },
    });
  });

  it('caches the hash by path, size and mtime', async () => {
    const file = join(dir, 'models', 'm.safetensors');
    writeFileSync(file, 'weights-v1');
    const before = statSync(file);
    await runNodeForTest(loadCheckpoint, t, {}, { file: 'm.safetensors' });
    // Same size and mtime: the cached hash is used (the file is not read again).
    writeFileSync(file, 'weights-v2');
    utimesSync(file, before.atime, before.mtime);
    const cached = await runNodeForTest(loadCheckpoint, t, {}, { file: 'm.safetensors' });
    expect((cached.outputs.model as ModelValue).sha256).toBe(sha('weights-v1'));
    // A new mtime: re-hashed.
    utimesSync(file, before.atime, new Date(before.mtimeMs + 5000));
    const fresh = await runNodeForTest(loadCheckpoint, t, {}, { file: 'm.safetensors' });
    expect((fresh.outputs.model as ModelValue).sha256).toBe(sha('weights-v2'));
  });

  it('hashes a diffusers folder over its files and rejects paths outside the roots', async () => {
    mkdirSync(join(dir, 'models', 'pipe', 'unet'), { recursive: true });
    writeFileSync(join(dir, 'models', 'pipe', 'unet', 'diffusion_pytorch_model.safetensors'), 'u');
    writeFileSync(join(dir, 'models', 'pipe', 'model_index.json'), '{}');
    const { outputs } = await runNodeForTest(loadCheckpoint, t, {}, { file: 'pipe' });
    const expected = sha(
      `model_index.json  ${sha('{}')}\nunet/diffusion_pytorch_model.safetensors  ${sha('u')}\n`,
    );
    expect((outputs.model as ModelValue).sha256).toBe(expected);
    await expect(runNodeForTest(loadCheckpoint, t, {}, { file: '../data/x.safetensors' })).rejects.toThrow(
      /Load Checkpoint/,
    );
    await expect(runNodeForTest(loadCheckpoint, t, {}, { file: 'missing.safetensors' })).rejects.toThrow(
      /does not exist/,
    );
  });
});
