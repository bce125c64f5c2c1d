/**
 * Reads the text chunks (tEXt, iTXt and zTXt) of a PNG file, pure TypeScript over bytes. Compressed chunks
 * are inflated with the platform's DecompressionStream.
 */
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

export function isPng(bytes: Uint8Array): boolean {
  return SIGNATURE.every((b, i) => bytes[i] === b);
}

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

export async function readPngText(bytes: Uint8Array): Promise<Map<string, string>> {
  if (!isPng(bytes)) throw new Error('not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, string>();
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = latin1.decode(bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, Math.min(bytes.length, pos + 8 + len));
    pos += 12 + len;
    if (type === 'IEND') break;
    if (type !== 'tEXt' && type !== 'iTXt' && type !== 'zTXt') continue;
    const nul = data.indexOf(0);
    if (nul < 0) continue;
    const keyword = latin1.decode(data.subarray(0, nul));
    if (type === 'tEXt') {
      out.set(keyword, latin1.decode(data.subarray(nul + 1)));
    } else if (type === 'zTXt') {
      out.set(keyword, latin1.decode(await inflate(data.subarray(nul + 2))));
    } else {
      const compressed = data[nul + 1] === 1;
      let p = nul + 3;
      const langEnd = data.indexOf(0, p);
      if (langEnd < 0) continue;
      const transEnd = data.indexOf(0, langEnd + 1);
      if (transEnd < 0) continue;
      p = transEnd + 1;
      const text = data.subarray(p);
      out.set(keyword, utf8.decode(compressed ? await inflate(text) : text));
    }
  }
  return out;
}

/** The workflow embedded in a PNG (`loraflow.workflow` chunk), as text, or null. */
export async function workflowFromPng(bytes: Uint8Array): Promise<string | null> {
  const chunks = await readPngText(bytes);
  return chunks.get('loraflow.workflow') ?? chunks.get('workflow') ?? null;
}
