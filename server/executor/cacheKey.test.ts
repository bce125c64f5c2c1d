import { describe, expect, it } from 'vitest';
import { nodeCacheKey, valueHash } from './cacheKey.ts';

const base = {
  type: 'test/basic/add',
  version: '1.0.0',
  params: { offset: 1, mode: 'x' },
  inputs: { a: ['h1'], b: [] },
};

describe('nodeCacheKey', () => {
  it('is a sha256 that does not depend on param or input key order', () => {
    const k = nodeCacheKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(nodeCacheKey({ ...base, params: { mode: 'x', offset: 1 }, inputs: { b: [], a: ['h1'] } })).toBe(k);
  });

  it('changes with the type, the version, any param and any input hash', () => {
    const k = nodeCacheKey(base);
    const variants = [
      { ...base, type: 'test/basic/sub' },
      { ...base, version: '1.0.1' },
      { ...base, params: { offset: 2, mode: 'x' } },
      { ...base, params: { offset: 1, mode: 'x', extra: true } },
      { ...base, inputs: { a: ['h2'], b: [] } },
      { ...base, inputs: { a: ['h1'], b: ['h1'] } },
    ];
    const keys = variants.map(nodeCacheKey);
    expect(keys).not.toContain(k);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('depends on the order of a list input', () => {
    expect(nodeCacheKey({ ...base, inputs: { v: ['h1', 'h2'] } })).not.toBe(
      nodeCacheKey({ ...base, inputs: { v: ['h2', 'h1'] } }),
    );
  });

  it('does not confuse values whose parts concatenate alike', () => {
    expect(nodeCacheKey({ ...base, type: 'ab', version: 'c' })).not.toBe(
      nodeCacheKey({ ...base, type: 'a', version: 'bc' }),
    );
  });
});

describe('valueHash', () => {
  it('hashes canonical JSON', () => {
    expect(valueHash({ kind: 'prompts', prompts: ['a'] })).toBe(
      valueHash({ prompts: ['a'], kind: 'prompts' }),
    );
    expect(valueHash({ kind: 'prompts', prompts: ['a'] })).not.toBe(
      valueHash({ kind: 'prompts', prompts: ['b'] }),
    );
  });
});
