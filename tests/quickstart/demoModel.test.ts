import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDemoModel } from '../../scripts/demo/model/pipeline.ts';
import { qualityPrompts } from '../../scripts/demo/model/sampleQuality.ts';
import { defaultEngineBinary } from '../../server/engine/engineClient.ts';
import { SafetensorsReader } from '../../server/engine/safetensors.ts';
import { makeTempDir } from '../helpers/tempDir.ts';

/**
 * `npm run make:demo-model` at a few steps: the whole pipeline (random init, VAE stage, UNet stage, save,
 * reload, quality sampling) still works end to end on the real engine. The committed model's quality is in its
 * model card; this proves the script that made it has not rotted.
 */
const tmp = makeTempDir('loraflow-demo-model-');
afterAll(() => tmp.cleanup());

describe('make:demo-model (quick)', { timeout: 600_000 }, () => {
  it('trains both stages, saves a loadable LDM checkpoint with its tokenizer, and scores samples', async () => {
    const out = join(tmp.dir, 'models', 'demo.safetensors');
    const log: string[] = [];
    const r = await makeDemoModel({
      out,
      workDir: join(tmp.dir, 'work'),
      seed: 5,
      count: 32,
      vae: { steps: 3, batch: 4, lr: 1e-3, crop: 32 },
      unet: { steps: 3, batch: 4, lr: 1e-3, textEncoderLr: 1e-4, minSnrGamma: 5, emaDecay: 0.99 },
      quality: { perPrompt: 1, seed: 1, steps: 2, cfgScale: 5 },
      overwrite: false,
      engineBin: defaultEngineBinary(),
      threads: 1,
      log: (l) => log.push(l),
    });
    expect(r.vae.steps).toBe(3);
    expect(r.unet.steps).toBe(3);
    expect(Number.isFinite(r.vae.lossLast) && Number.isFinite(r.unet.lossLast)).toBe(true);
    expect(r.quality.images).toBe(qualityPrompts().length);
    expect(existsSync(join(tmp.dir, 'work'))).toBe(false);

    const header = SafetensorsReader.open(out);
    const names = header.tensors.map((t) => t.name);
    expect(names).toContain('model.diffusion_model.input_blocks.0.0.weight');
    expect(names).toContain('first_stage_model.decoder.conv_out.weight');
    expect(names).toContain('cond_stage_model.transformer.text_model.final_layer_norm.weight');
    expect(header.info('model.diffusion_model.input_blocks.0.0.weight').dtype).toBe('F16');
    const vocab = JSON.parse(readFileSync(join(r.tokenizerDir, 'vocab.json'), 'utf8')) as Record<
      string,
      number
    >;
    for (const word of ['ring</w>', 'cross</w>', 'diamond</w>', 'circle</w>'])
      expect(vocab).toHaveProperty(word);

    await expect(makeDemoModel({ ...baseOptions(out), overwrite: false })).rejects.toThrow(
      /already exists; pass --force/,
    );
  });
});

function baseOptions(out: string) {
  return {
    out,
    workDir: join(tmp.dir, 'work2'),
    seed: 5,
    count: 8,
    vae: { steps: 1, batch: 2, lr: 1e-3, crop: 32 },
    unet: { steps: 1, batch: 2, lr: 1e-3, textEncoderLr: 0, minSnrGamma: 0, emaDecay: 0 },
    quality: { perPrompt: 1, seed: 1, steps: 1, cfgScale: 5 },
    overwrite: false,
    log: () => {},
  };
}
