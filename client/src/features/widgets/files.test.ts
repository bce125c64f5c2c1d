import { describe, expect, it } from 'vitest';
import { type DirEntry, findModels } from './files.ts';

const tree: Record<string, DirEntry[]> = {
  '': [d('sd15'), d('loras'), f('base.safetensors'), f('notes.txt')],
  sd15: [f('sd15/v1-5.ckpt'), d('sd15/diffusers')],
  'sd15/diffusers': [f('sd15/diffusers/model_index.json'), d('sd15/diffusers/unet')],
  loras: [f('loras/style.safetensors')],
};
function d(path: string): DirEntry {
  return { name: path.split('/').pop()!, path, type: 'dir', size: 0, mtimeMs: 0 };
}
function f(path: string): DirEntry {
  return { name: path.split('/').pop()!, path, type: 'file', size: 1, mtimeMs: 0 };
}

describe('model picker listing', () => {
  it('walks the model root for checkpoint files and diffusers folders', async () => {
    const models = await findModels('model', ['.safetensors', '.ckpt'], async (_r, p) => tree[p] ?? []);
    expect(models).toEqual([
      'base.safetensors',
      'loras/style.safetensors',
      'sd15/diffusers',
      'sd15/v1-5.ckpt',
    ]);
  });
  it('stops at the folder limit', async () => {
    const models = await findModels('model', ['.ckpt'], async (_r, p) => tree[p] ?? [], {
      depth: 4,
      folders: 1,
    });
    expect(models).toEqual([]);
  });
});
