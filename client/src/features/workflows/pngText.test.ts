import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readPngText, workflowFromPng } from './pngText.ts';

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  // CRC is not checked by the reader; leave zero.
  return out;
}

function png(...chunks: Uint8Array[]): Uint8Array {
  const sig = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
  const parts = [sig, chunk('IHDR', new Uint8Array(13)), ...chunks, chunk('IEND', new Uint8Array(0))];
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...a: Uint8Array[]) => {
  const out = new Uint8Array(a.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of a) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};

describe('PNG text chunks', () => {
  it('reads tEXt, iTXt (plain and compressed) and zTXt', async () => {
    const wf = JSON.stringify({ format: 'loraflow.workflow', meta: { name: 'Ünïcode ✓' } });
    const bytes = png(
      chunk('tEXt', cat(enc('Software'), new Uint8Array([0]), enc('loraflow'))),
      chunk(
        'iTXt',
        cat(enc('loraflow.workflow'), new Uint8Array([0, 0, 0]), enc('en'), new Uint8Array([0, 0]), enc(wf)),
      ),
      chunk(
        'iTXt',
        cat(enc('comp'), new Uint8Array([0, 1, 0, 0, 0]), new Uint8Array(deflateSync(enc('zipped ✓')))),
      ),
      chunk('zTXt', cat(enc('z'), new Uint8Array([0, 0]), new Uint8Array(deflateSync(enc('latin'))))),
    );
    const text = await readPngText(bytes);
    expect(text.get('Software')).toBe('loraflow');
    expect(text.get('comp')).toBe('zipped ✓');
    expect(text.get('z')).toBe('latin');
    expect(await workflowFromPng(bytes)).toBe(wf);
  });
  it('rejects non-PNG bytes', async () => {
    await expect(readPngText(enc('GIF89a'))).rejects.toThrow('not a PNG');
  });
});
