import { describe, expect, it } from 'vitest';
import { generateTokens, type StepFn } from './generate.ts';
import { decoderFromTokenizerJson } from './wordpiece.ts';

/** A Markov "decoder": next-token logits depend only on the last token. */
function markov(table: Record<number, Record<number, number>>, vocab = 8): StepFn {
  return async (seqs) =>
    seqs.map((s) => {
      const l = new Float32Array(vocab).fill(-20);
      for (const [t, v] of Object.entries(table[s.at(-1)!] ?? {})) l[Number(t)] = v;
      return l;
    });
}

// 0 pad, 1 bos, 2 eos, 3 "a", 4 "red", 5 "blue", 6 "dog", 7 "cat"
const table = {
  1: { 3: 10 },
  3: { 4: 2.0, 5: 1.0 }, // greedy takes red (p .73)
  4: { 6: 0.01, 7: 0, 2: 0 }, // after red: a near three-way split
  5: { 7: 10 }, // after blue: cat for sure
  6: { 2: 10 },
  7: { 2: 10 },
};
const base = { bos: 1, eos: 2, minNewTokens: 0, maxNewTokens: 10 };

describe('generateTokens', () => {
  it('greedy follows the best token each step', async () => {
    expect(await generateTokens(markov(table), { ...base, numBeams: 1 })).toEqual([3, 4, 6]);
  });

  it('beam search finds the more probable whole sequence', async () => {
    // a red dog: .73 · 1/3 = .24; a blue cat: .27 · 1 = .27.
    expect(await generateTokens(markov(table), { ...base, numBeams: 3 })).toEqual([3, 5, 7]);
  });

  it('honours max and min lengths', async () => {
    expect(await generateTokens(markov(table), { ...base, numBeams: 1, maxNewTokens: 2 })).toEqual([3, 4]);
    const eosEarly = { 1: { 2: 10, 3: 1 }, 3: { 2: 10, 4: 1 }, 4: { 2: 10 } };
    expect(await generateTokens(markov(eosEarly), { ...base, numBeams: 1, minNewTokens: 2 })).toEqual([3, 4]);
    expect(await generateTokens(markov(eosEarly), { ...base, numBeams: 2, minNewTokens: 2 })).toEqual([3, 4]);
  });
});

describe('WordPiece decoding', () => {
  it('glues ## pieces, drops special tokens and cleans punctuation', () => {
    const d = decoderFromTokenizerJson({
      model: {
        type: 'WordPiece',
        vocab: { '[PAD]': 0, '[SEP]': 1, a: 2, dog: 3, '##gy': 4, '.': 5, "'": 6, s: 7 },
      },
      added_tokens: [
        { id: 0, content: '[PAD]', special: true },
        { id: 1, content: '[SEP]', special: true },
        { id: 8, content: '[DEC]', special: true },
      ],
    });
    expect(d.decode([8, 2, 3, 4, 5, 1, 0])).toBe('a doggy.');
    expect(() => decoderFromTokenizerJson({ model: { type: 'BPE', vocab: {} } })).toThrow(/WordPiece/);
  });
});
