import { describe, expect, it } from 'vitest';
import { extractPreviews, fullImageHash, previewSrc } from './previews.ts';

const h = (c: string) => c.repeat(64);

describe('previews from a node display', () => {
  it('finds image items with captions, sample labels and image-like hash keys', () => {
    const p = extractPreviews({
      count: 3,
      items: [
        { hash: h('a'), width: 512, height: 512, caption: 'a dog' },
        { hash: h('b'), width: 512, height: 512 },
      ],
      samples: [{ step: 100, prompt: 'sks dog', image: h('c') }],
      preview: h('d'),
      unrelated: h('e'),
    });
    expect(p.images).toEqual([
      { hash: h('a'), caption: 'a dog' },
      { hash: h('b') },
      { hash: h('c'), label: 'sks dog' },
      { hash: h('d') },
    ]);
    expect(p.lines).toEqual(['count: 3']);
  });
  it('caps the number of thumbnails but counts them all', () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ hash: i.toString(16).padStart(64, '0') }));
    const p = extractPreviews({ items }, 5);
    expect(p.images).toHaveLength(5);
    expect(p.total).toBe(20);
  });
  it('shows node-made thumbnails as they are and asks the server for thumbnails of full images', () => {
    const made = { hash: h('1'), itemHash: h('2') };
    const full = { hash: h('3') };
    expect(previewSrc(made)).toBe(`/api/artifacts/${h('1')}`);
    expect(fullImageHash(made)).toBe(h('2'));
    expect(previewSrc(full)).toBe(`/api/artifacts/${h('3')}/thumbnail`);
    expect(fullImageHash(full)).toBe(h('3'));
  });
  it('looks into IMAGES values but not into other typed values such as a LoRA', () => {
    const p = extractPreviews({
      value: { kind: 'images', items: [{ hash: h('a'), caption: 'x' }] },
      lora: { kind: 'lora', hash: h('b'), name: 'mine', metadata: {} },
      model: { kind: 'model', hash: h('c') },
    });
    expect(p.images).toEqual([{ hash: h('a'), caption: 'x' }]);
  });
});
