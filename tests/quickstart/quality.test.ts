import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { baseSpecs, captionOf, conceptSpecs, IMAGE_SIZE, renderSpec } from '../../scripts/demo/dataset.ts';
import { evaluateRgb } from '../../scripts/demo/evaluate.ts';
import { parsePrompt, qualityReport, scoreImage } from '../../scripts/demo/quality.ts';
import { writeDemoData } from '../../scripts/demo/write.ts';
import { makeTempDir } from '../helpers/tempDir.ts';

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

describe('demo quality report', () => {
  it('reads what a prompt asks for', () => {
    expect(parsePrompt('a red circle')).toEqual({ shape: 'circle', color: 'red', background: [] });
    expect(parsePrompt('A small white cross on a green and grey background')).toEqual({
      shape: 'cross',
      color: 'white',
      background: ['green', 'grey'],
    });
    expect(parsePrompt('zkz, a star on a blue background')).toEqual({
      shape: 'star',
      color: 'yellow',
      background: ['blue'],
    });
    expect(parsePrompt('a star on a blue background')).toEqual({
      shape: 'star',
      color: null,
      background: ['blue'],
    });
    expect(parsePrompt('a photo of a dog')).toEqual({ shape: null, color: null, background: [] });
    for (const s of [...baseSpecs(4, 42), ...conceptSpecs(4, 4)]) {
      const t = parsePrompt(captionOf(s));
      expect(t.shape).toBe(s.shape);
      expect(t.color).toBe(s.concept ? null : s.color);
      expect(t.background).toEqual(
        s.background.kind === 'plain' ? [s.background.color] : s.background.colors,
      );
    }
  });

  it('scores per shape and per colour, counting wrong answers', () => {
    const specs = baseSpecs(8, 42);
    const scored = specs.map((s) => ({
      prompt: captionOf(s),
      target: parsePrompt(captionOf(s)),
      result: evaluateRgb(renderSpec(s), IMAGE_SIZE, IMAGE_SIZE),
    }));
    // One image that does not match its prompt: a circle's pixels under a square's prompt.
    const square = specs.find((s) => s.shape === 'square')!;
    const circle = specs.find((s) => s.shape === 'circle' && s.color === square.color)!;
    scored.push({
      prompt: captionOf(square),
      target: parsePrompt(captionOf(square)),
      result: evaluateRgb(renderSpec(circle), IMAGE_SIZE, IMAGE_SIZE),
    });
    const r = qualityReport(scored);
    expect(r.images).toBe(43);
    expect(r.shape.square).toEqual({ correct: 7, total: 8, accuracy: 7 / 8 });
    expect(r.shape.circle).toEqual({ correct: 7, total: 7, accuracy: 1 });
    expect(r.color[square.color]).toEqual({ correct: 7, total: 7, accuracy: 1 });
    expect(r.both).toEqual({ correct: 42, total: 43, accuracy: 42 / 43 });
  });

  it('scores written PNGs against their captions', async () => {
    const { base } = await writeDemoData({ out: join(tmp.dir, 'd'), seed: 2, count: 14, conceptCount: 1 });
    const scored = await Promise.all(
      base.files.map((f) => scoreImage(join(base.folder, '..', f.image), f.caption)),
    );
    expect(qualityReport(scored).both).toEqual({ correct: 14, total: 14, accuracy: 1 });
  });
});
