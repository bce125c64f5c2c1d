import { describe, expect, it } from 'vitest';
import { collectArtifactHashes, sha256Hex, sha256Parts } from './hash.ts';

const h1 = sha256Hex('one');
const h2 = sha256Hex('two');
const h3 = sha256Hex('three');

describe('collectArtifactHashes', () => {
  it('finds sha256 strings at any depth and under any key, ignoring other strings', () => {
    const value = {
      kind: 'images',
      items: [{ hash: h1, caption: 'z'.repeat(64) }],
      display: { thumbs: [{ thumb: h2 }], list: [h3] },
      upper: h1.toUpperCase(),
      short: h1.slice(1),
    };
    expect(collectArtifactHashes(value)).toEqual(new Set([h1, h2, h3]));
  });
});

describe('sha256Parts', () => {
  it('separates parts unambiguously', () => {
    expect(sha256Parts(['ab', 'c'])).not.toBe(sha256Parts(['a', 'bc']));
    expect(sha256Parts(['1:a'])).not.toBe(sha256Parts(['1', 'a']));
  });
});
