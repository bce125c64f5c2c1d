import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { checkClipTokenizerFiles, defaultTokenizerDir, downloadClipTokenizer } from './tokenizerDownload.ts';

function fakeClipFiles(): { vocab: string; merges: string } {
  const vocab: Record<string, number> = {};
  for (let i = 0; i < 49406; i++) vocab[`t${i}`] = i;
  vocab['<|startoftext|>'] = 49406;
  vocab['<|endoftext|>'] = 49407;
  const merges = ['#version: 0.2', ...Array.from({ length: 48894 }, (_, i) => `a${i} b`)].join('\n');
  return { vocab: JSON.stringify(vocab), merges };
}

describe('CLIP tokenizer download (offline, with a fake fetch)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.cleanup());

  it('installs validated files where the engine looks', async () => {
    const files = fakeClipFiles();
    const urls: string[] = [];
    const fetchImpl = (async (url: string | URL | Request) => {
      urls.push(String(url));
      return new Response(String(url).endsWith('vocab.json') ? files.vocab : files.merges);
    }) as typeof fetch;
    const dir = await downloadClipTokenizer({ dest: join(tmp.dir, 'tok'), fetchImpl });
    expect(readFileSync(join(dir, 'merges.txt'), 'utf8')).toBe(files.merges);
    expect(urls.sort()).toEqual([
      'https://huggingface.co/openai/clip-vit-large-patch14/resolve/main/merges.txt',
      'https://huggingface.co/openai/clip-vit-large-patch14/resolve/main/vocab.json',
    ]);
    expect(defaultTokenizerDir('/home/u')).toBe('/home/u/.cache/loraflow/tokenizers/clip-vit-large-patch14');
  });

  it('refuses files that are not the CLIP-L tokenizer, and HTTP errors', async () => {
    expect(checkClipTokenizerFiles('{}', '#version: 0.2\na b')).toMatch(/49408/);
    expect(checkClipTokenizerFiles('nope', '')).toMatch(/not JSON/);
    const notFound = (async () => new Response('missing', { status: 404 })) as typeof fetch;
    await expect(downloadClipTokenizer({ dest: join(tmp.dir, 'x'), fetchImpl: notFound })).rejects.toThrow(
      /HTTP 404/,
    );
  });
});
