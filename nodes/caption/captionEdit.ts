import { z } from 'zod';
import { defineNode } from '../sdk/defineNode.ts';
import { ui } from '../sdk/ui.ts';
import { type ImageItem, Sha256 } from '../sdk/values.ts';
import { CaptionEditOptions, compileRules, editCaption, mergeCaptions } from './editOps.ts';
import { tagFrequencies } from './tags.ts';

const TITLE = 'Caption Edit';
const TOP_TAGS = 200;

const params = CaptionEditOptions.extend({
  prefix: ui(z.string().default(''), { placeholder: 'trigger token, e.g. sks' }).describe(
    'Put first in every caption (moved to the front if already present).',
  ),
  suffix: z.string().default('').describe('Put last in every caption.'),
  removeTags: ui(z.array(z.string()).default([]), { group: 'advanced' }),
  setIfEmpty: ui(z.string().default(''), { group: 'advanced' }).describe('Caption for images without one.'),
  merge: z
    .enum(['merged-after', 'merged-before', 'replace-empty'])
    .default('merged-after')
    .describe(
      'With a second input (e.g. WD14 tags next to BLIP sentences): append its caption, prepend it, or use it only where the first is empty.',
    ),
  overrides: ui(z.record(Sha256, z.string()).default({}), { group: 'advanced' }).describe(
    'Hand-written captions by image hash (written by the dataset view). They replace the edited caption verbatim.',
  ),
}).superRefine((p, ctx) => {
  const c = compileRules(p.findReplace);
  if (!c.ok) {
    const path = c.field
      .replace(/\]/g, '')
      .split(/[.[]/)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    ctx.addIssue({ code: 'custom', path, message: c.reason });
  }
});

export const captionEdit = defineNode({
  type: 'loraflow/caption/edit',
  version: '1.0.0',
  title: TITLE,
  category: 'caption',
  description:
    'Edits captions: trigger token first, suffix, find/replace (plain or regex), remove/deduplicate tags, ' +
    'lowercase, trim, a caption for images without one, merging sentence captions with tags, and hand ' +
    'overrides. Order: merge, set-if-empty, find/replace, tag clean-up, prefix/suffix, overrides. Reports tag frequencies.',
  inputs: {
    images: { type: 'IMAGES' },
    merge: {
      type: 'IMAGES',
      optional: true,
      label: 'merge captions',
      description: 'Captions to merge in, matched by image hash (e.g. WD14 tags of the same images)',
    },
  },
  outputs: { images: { type: 'IMAGES' } },
  params,
  async run(ctx, inputs, p) {
    const compiled = compileRules(p.findReplace);
    if (!compiled.ok) throw new Error(`${TITLE}: ${compiled.field}: ${compiled.reason}`);
    const other = new Map<string, string>();
    for (const it of inputs.merge?.items ?? []) if (!other.has(it.hash)) other.set(it.hash, it.caption);
    const unknownOverrides = Object.keys(p.overrides).filter(
      (h) => !inputs.images.items.some((it) => it.hash === h),
    );

    let unmatched = 0;
    const items: ImageItem[] = inputs.images.items.map((it) => {
      let caption = it.caption;
      if (inputs.merge) {
        const m = other.get(it.hash);
        if (m === undefined) unmatched++;
        else if (p.merge === 'merged-after') caption = mergeCaptions(caption, m);
        else if (p.merge === 'merged-before') caption = mergeCaptions(m, caption);
        else if (caption.trim() === '') caption = m;
      }
      caption = editCaption(caption, p, compiled.rules);
      const override = p.overrides[it.hash];
      if (override !== undefined) caption = override;
      return { ...it, caption };
    });

    if (unmatched > 0) {
      ctx.log.warn(
        `${TITLE}: ${unmatched} image(s) have no caption in the merge input (matched by image hash); were both inputs made from the same images?`,
      );
    }
    if (unknownOverrides.length > 0) {
      ctx.log.warn(
        `${TITLE}: ${unknownOverrides.length} caption override(s) are for images that are no longer in the input`,
      );
    }
    const freq = tagFrequencies(items.map((i) => i.caption));
    const empty = items.filter((i) => i.caption.trim() === '');
    return {
      outputs: { images: { kind: 'images', items } },
      display: {
        count: items.length,
        withoutCaption: empty.length,
        uniqueTags: freq.length,
        tagFrequency: freq.slice(0, TOP_TAGS),
        captions: items.map((i) => ({ itemHash: i.hash, source: i.source ?? '', caption: i.caption })),
      },
    };
  },
});
