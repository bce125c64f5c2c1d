/**
 * Decoding for BERT WordPiece vocabularies (BLIP's tokenizer is BertTokenizer plus `[DEC]`): ids → tokens,
 * special tokens dropped, `##` pieces glued to the previous token, then Hugging Face's
 * `clean_up_tokenization` (no space before . , ! ? and the usual English contractions).
 */
export class WordPieceDecoder {
  readonly #tokens: string[];
  readonly #special: Set<number>;

  constructor(vocab: Record<string, number>, specialIds: Iterable<number>) {
    this.#tokens = [];
    for (const [tok, id] of Object.entries(vocab)) this.#tokens[id] = tok;
    this.#special = new Set(specialIds);
  }

  get size(): number {
    return this.#tokens.length;
  }

  decode(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) {
      if (this.#special.has(id)) continue;
      const tok = this.#tokens[id];
      if (tok === undefined) continue;
      if (tok.startsWith('##')) text += tok.slice(2);
      else text += (text ? ' ' : '') + tok;
    }
    return text
      .replaceAll(' .', '.')
      .replaceAll(' ?', '?')
      .replaceAll(' !', '!')
      .replaceAll(' ,', ',')
      .replaceAll(" ' ", "'")
      .replaceAll(" n't", "n't")
      .replaceAll(" 'm", "'m")
      .replaceAll(" 's", "'s")
      .replaceAll(" 've", "'ve")
      .replaceAll(" 're", "'re")
      .trim();
  }
}

/** Reads the vocabulary and special token ids out of a Hugging Face `tokenizer.json`. */
export function decoderFromTokenizerJson(json: unknown, file = 'tokenizer.json'): WordPieceDecoder {
  const t = json as {
    model?: { type?: string; vocab?: Record<string, number> };
    added_tokens?: { id: number; content: string; special?: boolean }[];
  };
  if (t.model?.type !== 'WordPiece' || !t.model.vocab) {
    throw new Error(
      `${file}: expected a WordPiece (BERT) tokenizer as BLIP uses, got ${t.model?.type ?? 'no model'}`,
    );
  }
  const vocab = { ...t.model.vocab };
  const special: number[] = [];
  for (const a of t.added_tokens ?? []) {
    vocab[a.content] = a.id;
    if (a.special !== false) special.push(a.id);
  }
  return new WordPieceDecoder(vocab, special);
}
