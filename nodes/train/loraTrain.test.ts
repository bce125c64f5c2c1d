import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultEngineBinary, EngineClient } from '../../server/engine/engineClient.ts';
import { SafetensorsReader } from '../../server/engine/safetensors.ts';
import { createNodeTestContext, runNodeForTest } from '../../tests/helpers/nodeTestContext.ts';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { engineHasMakeModel, makeTinyModel } from '../../tests/helpers/tinyModel.ts';
import type { ImageItem, ModelValue } from '../sdk/values.ts';
import { loraTrain } from './loraTrain.ts';

const BIN = defaultEngineBinary();
const HAVE_ENGINE = existsSync(BIN);

/** A small coloured test image (PNG) with a pattern per index. */
async function png(i: number, w: number, h: number): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      raw[o] = (x * (i + 3) * 4) & 255;
      raw[o + 1] = (y * 5 + i * 40) & 255;
      raw[o + 2] = ((x + y) * 3 * (i + 1)) & 255;
    }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

/**
 * Stands in for the engine where only the bucket sizes matter: records the size of every image the node
 * VAE-encodes and answers train_lora with a small file.
 */
class BucketRecordingEngine {
  readonly encoded: string[] = [];
  async request(op: string, args: Record<string, unknown>): Promise<unknown> {
    if (op === 'load_model') return { model_id: 'fake', config: {} };
    if (op === 'vae_encode') {
      const [, h, w] = SafetensorsReader.open(String(args.images)).tensors[0]!.shape;
      this.encoded.push(`${w}x${h}`);
      await writeFile(String(args.out), 'latents');
      return { path: args.out, shape: [1, 4, h! / 8, w! / 8] };
    }
    if (op === 'train_lora') {
      const path = join(String(args.output_dir), 'fake.safetensors');
      await writeFile(path, 'lora');
      return { path, steps: 1, total_steps: 1, epochs: 1, checkpoints: [], metadata: {} };
    }
    throw new Error(`fake engine: unexpected op ${op}`);
  }
}

describe('LoRA Train resolution follows the model', () => {
  const tmp = makeTempDir('loraflow-train-auto-');
  afterAll(() => tmp.cleanup());

  async function bucketOf(arch: ModelValue['arch'], params: Record<string, unknown>) {
    const engine = new BucketRecordingEngine();
    const t = createNodeTestContext({
      dataDir: join(tmp.dir, `${arch}-${Object.keys(params).length}`),
      services: { engine },
    });
    try {
      // 1000x700 is no bucket size, so it is fitted to the bucket of the closest aspect ratio.
      const hash = await t.store.put(await png(0, 1000, 700));
      const item: ImageItem = {
        hash,
        width: 1000,
        height: 700,
        caption: 'sks',
        repeats: 1,
        regularization: false,
      };
      const model: ModelValue = {
        kind: 'model',
        path: '/m.safetensors',
        sha256: 'd'.repeat(64),
        arch,
        config: {},
      };
      const r = await runNodeForTest(
        loraTrain,
        t,
        { model, images: { kind: 'images', items: [item] } },
        params,
      );
      const logged = t.logs.map((l) => l.message).find((m) => m.startsWith('resolution: '));
      return { encoded: engine.encoded, logged, shown: r.display?.resolution };
    } finally {
      t.close();
    }
  }

  it('SDXL gets 1024² buckets by default (kohya 1216x832 for 10:7), SD1 512², and an explicit 512 stays 512', async () => {
    const xl = await bucketOf('sdxl', {});
    expect(xl.encoded).toEqual(['1216x832']);
    expect(xl.logged).toBe('resolution: 1024x1024 (auto for sdxl), buckets 512 to 2048 px (auto)');
    expect(xl.shown).toBe('1024x1024 (auto for sdxl), buckets 512 to 2048 px (auto)');
    const sd1 = await bucketOf('sd1', {});
    expect(sd1.encoded).toEqual(['576x448']);
    expect(sd1.logged).toBe('resolution: 512x512 (auto for sd1), buckets 256 to 1024 px (auto)');
    const old = await bucketOf('sdxl', { resolution: 512, min_bucket_reso: 256, max_bucket_reso: 1024 });
    expect(old.encoded).toEqual(['576x448']);
    expect(old.logged).toBe('resolution: 512x512, buckets 256 to 1024 px');
  }, 60_000);
});

describe.skipIf(!HAVE_ENGINE)('LoRA Train node against the real engine (tiny model)', () => {
  const tmp = makeTempDir('loraflow-train-node-');
  let engine: EngineClient;
  let model: ModelValue;

  /** An engine built before the model/train ops were registered counts as absent. */
  let ready = false;

  beforeAll(async () => {
    engine = new EngineClient({ workDir: join(tmp.dir, 'engine'), binPath: BIN, threads: 1 });
    const hello = (await engine.request('hello', {})) as { ops?: string[] };
    ready = ['load_model', 'vae_encode', 'train_lora'].every((op) => hello.ops?.includes(op));
    if (!ready) return;
    // An engine without make-model cannot build the tiny model.
    if (!engineHasMakeModel(BIN)) {
      ready = false;
      return;
    }
    const path = join(tmp.dir, 'tiny.safetensors');
    makeTinyModel(BIN, path);
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    model = { kind: 'model', path, sha256, arch: 'sd1', config: {} };
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    tmp.cleanup();
  });

  async function images(
    t: ReturnType<typeof createNodeTestContext>,
    n: number,
    w = 64,
    h = 64,
  ): Promise<ImageItem[]> {
    const out: ImageItem[] = [];
    for (let i = 0; i < n; i++) {
      const hash = await t.store.put(await png(i, w, h));
      out.push({
        hash,
        width: w,
        height: h,
        caption: `sks, pattern ${i}`,
        repeats: 2,
        regularization: false,
      });
    }
    return out;
  }

  const params = {
    output_name: 'tiny-lora',
    network_dim: 4,
    network_alpha: 4,
    learning_rate: 1e-3,
    max_train_epochs: 0,
    max_train_steps: 4,
    train_batch_size: 2,
    save_precision: 'fp32',
    flip_aug: true,
  };

  it('trains, stores a kohya LoRA with metadata, emits metrics and caches latents per image', async (tc) => {
    if (!ready) return tc.skip('engine binary without load_model/vae_encode/train_lora/make-model');
    const t = createNodeTestContext({
      dataDir: join(tmp.dir, 'data'),
      services: { engine, workflow: { nodes: [{ id: 'n1', type: 'loraflow/train/lora' }] } },
      nodeType: loraTrain.type,
      nodeVersion: loraTrain.version,
    });
    try {
      const items = await images(t, 2, 64, 64);
      // One image not bucket-sized: it is fitted to a kohya bucket before encoding.
      items.push({ ...(await images(t, 1, 80, 72))[0]!, caption: 'sks, odd size' });
      const r = await runNodeForTest(
        loraTrain,
        t,
        { model, images: { kind: 'images', items } },
        {
          ...params,
          sample_prompts: 'sks pattern --w 64 --h 64 --s 2 --d 3',
          sample_every_n_steps: 2,
        },
      );
      const lora = r.outputs.lora as {
        kind: string;
        hash: string;
        name: string;
        metadata: Record<string, string>;
      };
      expect(lora.kind).toBe('lora');
      expect(lora.name).toBe('tiny-lora');
      expect(lora.metadata.ss_network_module).toBe('networks.lora');
      expect(lora.metadata.ss_steps).toBe('4');
      expect(lora.metadata.ss_new_sd_model_hash).toBe(model.sha256);
      const file = SafetensorsReader.open(t.store.pathOf(lora.hash));
      const names = file.tensors.map((x) => x.name);
      expect(names.some((n) => n.startsWith('lora_unet_down_blocks_1_attentions_0_'))).toBe(true);
      expect(names.some((n) => n.startsWith('lora_te_text_model_encoder_layers_0_self_attn_q_proj'))).toBe(
        true,
      );
      expect(JSON.parse(file.metadata['loraflow.workflow'] ?? 'null')).toEqual({
        nodes: [{ id: 'n1', type: 'loraflow/train/lora' }],
      });
      const metrics = t.events.filter((e) => e.type === 'training.metrics');
      expect(metrics.length).toBeGreaterThan(0);
      expect(metrics.at(-1)?.data).toMatchObject({ step: 4, total_steps: 4 });
      expect(r.display?.stepCount).toContain('3 images');
      const samples = t.events.filter((e) => e.type === 'training.sample');
      expect(samples.map((e) => (e.data as { step: number }).step)).toEqual([2, 4]);
      const sampleHash = (samples[0]?.data as { image: string } | undefined)?.image ?? '';
      expect((await sharp(await t.store.get(sampleHash)).metadata()).width).toBe(64);

      // Same images plus one new one: only the new image is VAE-encoded (2 encodes with flip_aug).
      const encodes: string[] = [];
      const counting = {
        request: (
          op: string,
          args: Record<string, unknown>,
          opts?: Parameters<EngineClient['request']>[2],
        ) => {
          encodes.push(op);
          return engine.request(op, args, opts);
        },
      };
      const t2 = createNodeTestContext({
        dataDir: join(tmp.dir, 'data'),
        services: { engine: counting },
        nodeType: loraTrain.type,
        nodeVersion: loraTrain.version,
      });
      try {
        const more = [...items, { ...(await images(t2, 4))[3]!, caption: 'sks, new one' }];
        await runNodeForTest(
          loraTrain,
          t2,
          { model, images: { kind: 'images', items: more } },
          { ...params, max_train_steps: 1 },
        );
        expect(encodes.filter((op) => op === 'vae_encode')).toHaveLength(2);
      } finally {
        t2.close();
      }
    } finally {
      t.close();
    }
  }, 300_000);

  it('running the same training again continues from its saved state', async (tc) => {
    if (!ready) return tc.skip('engine binary without load_model/vae_encode/train_lora/make-model');
    const dataDir = join(tmp.dir, 'data-resume');
    const p = { ...params, max_train_steps: 3, flip_aug: false, network_train_unet_only: true };
    const t = createNodeTestContext({ dataDir, services: { engine } });
    const t2 = createNodeTestContext({ dataDir, services: { engine } });
    try {
      const items = await images(t, 2);
      const first = await runNodeForTest(loraTrain, t, { model, images: { kind: 'images', items } }, p);
      expect(first.display?.resumedFromStep).toBe(0);
      // The state saved with the run (also on cancel, see the engine's resume tests) is found by the node's key.
      const again = await runNodeForTest(loraTrain, t2, { model, images: { kind: 'images', items } }, p);
      expect(again.display?.resumedFromStep).toBe(3);
      expect(t2.logs.some((l) => l.message.startsWith('resumed at step 3'))).toBe(true);
      expect(t2.events.some((e) => e.type === 'training.resumed')).toBe(true);
      // Other settings train from scratch under another key.
      const other = await runNodeForTest(
        loraTrain,
        t2,
        { model, images: { kind: 'images', items } },
        { ...p, seed: 7 },
      );
      expect(other.display?.resumedFromStep).toBe(0);
    } finally {
      t.close();
      t2.close();
    }
  }, 300_000);
});
