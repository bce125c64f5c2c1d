import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CaptionEditOptions, compileRules, editCaption, mergeCaptions } from './editOps.ts';
import { tagFrequencies } from './tags.ts';

function edit(caption: string, opts: z.input<typeof CaptionEditOptions>): string {
  const o = CaptionEditOptions.parse(opts);
  const c = compileRules(o.findReplace);
  if (!c.ok) throw new Error(c.reason);
  return editCaption(caption, o, c.rules);
}

describe('editCaption', () => {
  it('puts the trigger token first without stacking it on re-runs', () => {
    expect(edit('1girl, solo, smile', { prefix: 'sks' })).toBe('sks, 1girl, solo, smile');
    expect(edit('1girl, sks, smile', { prefix: 'sks' })).toBe('sks, 1girl, smile');
    expect(edit(edit('a, b', { prefix: 'sks' }), { prefix: 'sks' })).toBe('sks, a, b');
    expect(edit('a, b', { suffix: 'masterpiece' })).toBe('a, b, masterpiece');
  });

  it('removes, dedupes, lowercases and trims tags', () => {
    expect(edit(' A ,  b  c,a,, B C , d', { lowercase: true, removeTags: ['D'] })).toBe('a, b c');
    expect(edit('A, a', { dedupe: false })).toBe('A, a');
    expect(edit('A, a', { dedupe: true })).toBe('A');
  });

  it('finds and replaces plain text and regexes', () => {
    expect(edit('red hair, red eyes', { findReplace: [{ find: 'red', replace: 'blue' }] })).toBe(
      'blue hair, blue eyes',
    );
    expect(
      edit('long hair, short hair', {
        findReplace: [{ find: '(\\w+) hair', replace: 'hair ($1)', regex: true }],
      }),
    ).toBe('hair (long), hair (short)');
    expect(
      edit('Cat, cat', { findReplace: [{ find: 'cat', replace: 'dog', regex: true, flags: 'i' }] }),
    ).toBe('dog');
    // Plain mode treats regex characters literally.
    expect(edit('a.b, axb', { findReplace: [{ find: 'a.b', replace: 'z' }] })).toBe('z, axb');
  });

  it('names an invalid regex by field', () => {
    const r = compileRules(
      CaptionEditOptions.parse({ findReplace: [{ find: 'ok' }, { find: '(', regex: true }] }).findReplace,
    );
    expect(r).toMatchObject({ ok: false, field: 'findReplace[1].find' });
    if (!r.ok) expect(r.reason).toContain('invalid regular expression');
  });

  it('sets a caption only where there is none', () => {
    expect(edit('', { setIfEmpty: 'a photo', prefix: 'sks' })).toBe('sks, a photo');
    expect(edit('x', { setIfEmpty: 'a photo' })).toBe('x');
  });

  it('leaves the text alone when no tag operation is on', () => {
    expect(edit(' a  b ,c ', { trim: false, dedupe: false })).toBe(' a  b ,c ');
  });
});

describe('mergeCaptions and tagFrequencies', () => {
  it('merges sentence then tags', () => {
    expect(mergeCaptions('a man on a bench', '1boy, bench')).toBe('a man on a bench, 1boy, bench');
    expect(mergeCaptions('', '1boy')).toBe('1boy');
    expect(mergeCaptions('x', ' ')).toBe('x');
  });

  it('counts tags once per caption, lower-cased, most frequent first', () => {
    expect(tagFrequencies(['sks, Smile, smile', 'sks, hat', 'sks'])).toEqual([
      { tag: 'sks', count: 3 },
      { tag: 'hat', count: 1 },
      { tag: 'smile', count: 1 },
    ]);
  });
});
