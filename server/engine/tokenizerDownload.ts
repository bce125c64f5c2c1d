/**
 * Downloads the standard CLIP-L tokenizer files (vocab.json + merges.txt of openai/clip-vit-large-patch14)
 * into the directory the engine looks in (native/src/text/tokenizer_files.cpp):
 * ~/.cache/loraflow/tokenizers/clip-vit-large-patch14/. Needs network access, so it only runs when the
 * user asks for it; it is isolated here so that nothing else depends on being online.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CLIP_TOKENIZER_BASE_URL = 'https://huggingface.co/openai/clip-vit-large-patch14/resolve/main';

export function defaultTokenizerDir(home = homedir()): string {
  return join(home, '.cache', 'loraflow', 'tokenizers', 'clip-vit-large-patch14');
}

/** Checks that the two files look like the real CLIP-L tokenizer; returns a problem or undefined. */
export function checkClipTokenizerFiles(vocabJson: string, mergesTxt: string): string | undefined {
  let vocab: unknown;
  try {
    vocab = JSON.parse(vocabJson);
  } catch {
    return 'vocab.json is not JSON';
  }
  if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab))
    return 'vocab.json is not an object';
  const v = vocab as Record<string, unknown>;
  if (Object.keys(v).length !== 49408)
    return `vocab.json has ${Object.keys(v).length} entries, expected 49408`;
  if (v['<|startoftext|>'] !== 49406 || v['<|endoftext|>'] !== 49407)
    return 'vocab.json has unexpected BOS/EOS ids';
  const lines = mergesTxt.trim().split('\n');
  if (!lines[0]?.startsWith('#version')) return 'merges.txt has no #version header';
  if (lines.length - 1 < 48894) return `merges.txt has ${lines.length - 1} merges, expected at least 48894`;
  return undefined;
}

export interface DownloadOptions {
  dest?: string;
  baseUrl?: string;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
}

/** Downloads, validates and atomically installs vocab.json + merges.txt; returns the directory. */
export async function downloadClipTokenizer(opts: DownloadOptions = {}): Promise<string> {
  const dest = opts.dest ?? defaultTokenizerDir();
  const base = opts.baseUrl ?? CLIP_TOKENIZER_BASE_URL;
  const doFetch = opts.fetchImpl ?? fetch;
  const get = async (name: string): Promise<string> => {
    const res = await doFetch(`${base}/${name}`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000) });
    if (!res.ok) throw new Error(`downloading ${base}/${name} failed: HTTP ${res.status}`);
    return res.text();
  };
  const [vocab, merges] = await Promise.all([get('vocab.json'), get('merges.txt')]);
  const problem = checkClipTokenizerFiles(vocab, merges);
  if (problem) throw new Error(`the downloaded tokenizer files are not the CLIP-L tokenizer: ${problem}`);
  mkdirSync(dest, { recursive: true });
  for (const [name, text] of [
    ['vocab.json', vocab],
    ['merges.txt', merges],
  ] as const) {
    const tmp = join(dest, `.${name}.tmp-${process.pid}`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(dest, name));
  }
  return dest;
}
