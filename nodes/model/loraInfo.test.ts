import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loraInfoFromHeader, readSafetensorsHeader, topTags } from './loraInfo.ts';

function safetensors(header: Record<string, unknown>): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.alloc(64)]);
}

describe('LoRA info', () => {
  it('reads kohya metadata: base model, rank, alpha, trigger words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loraflow-lorainfo-'));
    try {
      const path = join(dir, 'dog.safetensors');
      writeFileSync(
        path,
        safetensors({
          __metadata__: {
            ss_base_model_version: 'sd_v1',
            ss_network_dim: '16',
            ss_network_alpha: '8.0',
            ss_tag_frequency: JSON.stringify({
              '10_sks dog': { 'sks dog': 40, grass: 12, dog: 30 },
              '1_extra': { grass: 25 },
            }),
          },
          'lora_unet_x.lora_down.weight': { dtype: 'F16', shape: [16, 320], data_offsets: [0, 32] },
          'lora_unet_x.lora_up.weight': { dtype: 'F16', shape: [320, 16], data_offsets: [32, 64] },
        }),
      );
      const info = loraInfoFromHeader(await readSafetensorsHeader(path));
      expect(info).toMatchObject({ baseModel: 'sd_v1', rank: 16, alpha: 8, modules: 1 });
      expect(info.triggerWords).toEqual(['sks dog', 'grass', 'dog']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('infers the rank from the weights when the file has no metadata', () => {
    const info = loraInfoFromHeader({
      'a.lora_down.weight': { dtype: 'F32', shape: [4, 32], data_offsets: [0, 0] },
    });
    expect(info).toMatchObject({ rank: 4, modules: 1, triggerWords: [] });
    expect(info.baseModel).toBeUndefined();
  });

  it('ignores malformed tag frequencies and rejects non-safetensors files', async () => {
    expect(topTags('{not json')).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'loraflow-lorainfo-'));
    try {
      writeFileSync(join(dir, 'x.safetensors'), 'hello world, not a safetensors file');
      await expect(readSafetensorsHeader(join(dir, 'x.safetensors'))).rejects.toThrow(
        /not a safetensors file/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
