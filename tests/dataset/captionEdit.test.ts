import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captionEdit } from '../../nodes/caption/captionEdit.ts';
import type { ImageItem, ImagesValue } from '../../nodes/sdk/values.ts';
import { createNodeTestContext, type NodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';

let tmp: ReturnType<typeof makeTempDir>;
let t: NodeTestContext;
beforeEach(() => {
  tmp = makeTempDir('loraflow-capedit-');
  t = createNodeTestContext({ dataDir: join(tmp.dir, 'data') });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

const h = (n: number) => n.toString(16).padStart(64, '0');
const img = (n: number, caption: string): ImageItem => ({
  hash: h(n),
  width: 64,
  height: 64,
  caption,
  repeats: 1,
  regularization: false,
  source: `img${n}.png`,
});
const set = (...items: ImageItem[]): ImagesValue => ({ kind: 'images', items });

async function run(inputs: Record<string, unknown>, params: Record<string, unknown>) {
  const r = await runNodeForTest(captionEdit, t, inputs, params);
  return { captions: (r.outputs.images as ImagesValue).items.map((i) => i.caption), display: r.display! };
}

describe('Caption Edit', () => {
  it('applies trigger token, clean-up and replacements, and reports tag frequencies', async () => {
    const { captions, display } = await run(
      { images: set(img(1, '1girl, Solo, solo, smile'), img(2, 'sks, 1girl, hat'), img(3, '')) },
      {
        prefix: 'sks',
        lowercase: true,
        removeTags: ['hat'],
        setIfEmpty: 'a photo',
        findReplace: [{ find: '^1girl', replace: 'one girl', regex: true }],
      },
    );
    expect(captions).toEqual(['sks, one girl, solo, smile', 'sks, 1girl', 'sks, a photo']);
    expect(display.tagFrequency).toEqual([
      { tag: 'sks', count: 3 },
      { tag: '1girl', count: 1 },
      { tag: 'a photo', count: 1 },
      { tag: 'one girl', count: 1 },
      { tag: 'smile', count: 1 },
      { tag: 'solo', count: 1 },
    ]);
    expect(display.withoutCaption).toBe(0);
  });

  it('merges sentence captions with tags by image hash', async () => {
    const blip = set(img(1, 'a woman in a red hat'), img(2, 'a dog'));
    const tags = set(img(2, 'dog, grass'), img(1, '1girl, red hat'));
    const after = await run({ images: blip, merge: tags }, { prefix: 'sks' });
    expect(after.captions).toEqual(['sks, a woman in a red hat, 1girl, red hat', 'sks, a dog, dog, grass']);
    const before = await run({ images: blip, merge: tags }, { merge: 'merged-before' });
    expect(before.captions).toEqual(['1girl, red hat, a woman in a red hat', 'dog, grass, a dog']);
    const partial = await run(
      { images: set(img(1, ''), img(3, 'x')), merge: tags },
      { merge: 'replace-empty' },
    );
    expect(partial.captions).toEqual(['1girl, red hat', 'x']);
    expect(t.warnings.at(-1)).toContain('1 image(s) have no caption in the merge input');
  });

  it('applies hand overrides verbatim, keyed by image hash', async () => {
    const { captions } = await run(
      { images: set(img(1, 'a'), img(2, 'b')) },
      { prefix: 'sks', overrides: { [h(2)]: 'my own caption, exactly' } },
    );
    expect(captions).toEqual(['sks, a', 'my own caption, exactly']);
  });

  it('rejects an invalid regex as a field error', async () => {
    const parsed = captionEdit.params.safeParse({ findReplace: [{ find: '([a-z', regex: true }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['findReplace', 0, 'find']);
    expect(parsed.error?.issues[0]?.message).toContain('invalid regular expression');
    await expect(
      run({ images: set(img(1, 'a')) }, { findReplace: [{ find: '(', regex: true }] }),
    ).rejects.toThrow(/findReplace\.0\.find invalid regular expression/);
  });
});
