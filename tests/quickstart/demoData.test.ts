import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BASE_FOLDER,
  baseSpecs,
  CONCEPT_FOLDER,
  captionOf,
  conceptSpecs,
  IMAGE_SIZE,
  renderSpec,
  ShapeSpec,
} from '../../scripts/demo/dataset.ts';
import { evaluateImage, evaluateRgb } from '../../scripts/demo/evaluate.ts';
import { writeDemoData } from '../../scripts/demo/write.ts';
import { makeTempDir } from '../helpers/tempDir.ts';

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

async function bytesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const sub of await readdir(dir, { recursive: true })) {
    if (/\.(png|txt|json)$/.test(sub)) out.set(sub, await readFile(join(dir, sub)));
  }
  return out;
}

describe('demo data generator', () => {
  it('writes kohya layout with one caption per image, identical bytes for the same seed', async () => {
    const a = join(tmp.dir, 'a');
    const b = join(tmp.dir, 'b');
    const c = join(tmp.dir, 'c');
    const written = await writeDemoData({ out: a, seed: 5, count: 30, conceptCount: 6 });
    await writeDemoData({ out: b, seed: 5, count: 30, conceptCount: 6 });
    await writeDemoData({ out: c, seed: 6, count: 30, conceptCount: 6 });

    const base = (await readdir(join(a, 'base', BASE_FOLDER))).sort();
    expect(base.filter((f) => f.endsWith('.png'))).toHaveLength(30);
    expect(base.filter((f) => f.endsWith('.txt'))).toHaveLength(30);
    const concept = await readdir(join(a, 'concept', CONCEPT_FOLDER));
    expect(concept.filter((f) => f.endsWith('.png'))).toHaveLength(6);

    const first = written.base.files[0]!;
    const txt = await readFile(join(a, 'base', first.image.replace(/\.png$/, '.txt')), 'utf8');
    expect(txt).toBe(`${first.caption}\n`);
    expect(txt).toMatch(/^a (small|large) \w+ \w+ on a [\w ]+ background\n$/);
    const meta = await sharp(join(a, 'base', first.image)).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([IMAGE_SIZE, IMAGE_SIZE, 3]);

    const manifest = JSON.parse(await readFile(join(a, 'base', 'manifest.json'), 'utf8'));
    expect(manifest.images).toHaveLength(30);
    for (const img of manifest.images) ShapeSpec.parse(img.spec);

    const [ba, bb, bc] = await Promise.all([bytesOf(a), bytesOf(b), bytesOf(c)]);
    expect([...ba.keys()].sort()).toEqual([...bb.keys()].sort());
    for (const [k, v] of ba) expect(v.equals(bb.get(k)!), k).toBe(true);
    const differing = [...ba].filter(([k, v]) => k.endsWith('.png') && !v.equals(bc.get(k)!)).length;
    expect(differing).toBeGreaterThan(30);
  });

  it('keeps the concept out of the base set: no star, no yellow pixel, balanced shapes and colours', () => {
    const specs = baseSpecs(11, 420);
    const perShape = new Map<string, number>();
    const perColor = new Map<string, number>();
    for (const s of specs) {
      expect(s.shape).not.toBe('star');
      expect(s.color).not.toBe('yellow');
      const bg = s.background.kind === 'plain' ? [s.background.color] : s.background.colors;
      expect(bg).not.toContain('yellow');
      expect(bg).not.toContain(s.color);
      expect(captionOf(s)).not.toMatch(/star|yellow|zkz/);
      perShape.set(s.shape, (perShape.get(s.shape) ?? 0) + 1);
      perColor.set(s.color, (perColor.get(s.color) ?? 0) + 1);
    }
    expect([...perShape.values()]).toEqual(Array(6).fill(70));
    expect([...perColor.values()]).toEqual(Array(7).fill(60));
    // No pixel of the base set, anti-aliased edges included, reads as the concept's yellow.
    for (const s of specs.slice(0, 84))
      expect(evaluateRgb(renderSpec(s), IMAGE_SIZE, IMAGE_SIZE).starYellowFraction).toBe(0);
  });

  it('keeps centres near the middle with a position jitter, and spread out without one', () => {
    const offsets = (specs: ShapeSpec[]) =>
      specs.flatMap((s) => [Math.abs(s.cx - IMAGE_SIZE / 2), Math.abs(s.cy - IMAGE_SIZE / 2)]);
    const near = baseSpecs(5, 200, 6);
    expect(Math.max(...offsets(near))).toBeLessThanOrEqual(6);
    expect(new Set(near.map((s) => s.size)).size).toBe(2);
    expect(Math.max(...offsets(baseSpecs(5, 200)))).toBeGreaterThan(12);
  });

  it('captions concept images with the class, leaving the trigger token to Caption Edit', () => {
    const specs = conceptSpecs(3, 12);
    expect(new Set(specs.map((s) => s.shape))).toEqual(new Set(['star']));
    for (const s of specs) expect(captionOf(s)).toMatch(/^a star on a [\w ]+ background$/);
    expect(new Set(specs.map((s) => s.size)).size).toBe(2);
  });

  it('agrees with the evaluator on every written image (caption ↔ pixels)', async () => {
    const out = join(tmp.dir, 'eval');
    const { base, concept } = await writeDemoData({ out, seed: 21, count: 84, conceptCount: 8 });
    for (const [set, files] of [
      ['base', base.files],
      ['concept', concept.files],
    ] as const) {
      for (const f of files) {
        const e = await evaluateImage(join(out, set, f.image));
        expect({ caption: f.caption, shape: e.shape, color: e.color }).toEqual({
          caption: f.caption,
          shape: f.spec.shape,
          color: f.spec.color,
        });
      }
    }
  });
});
