import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from './crc32.ts';

/**
 * PNG text chunks (tEXt, zTXt, iTXt), read and written over the raw PNG bytes since sharp cannot write
 * arbitrary text chunks. Used for `loraflow.workflow` (the workflow JSON) and A1111's `parameters`.
 */

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export type PngTextChunk = { keyword: string; text: string; type: 'tEXt' | 'zTXt' | 'iTXt' };

type RawChunk = { type: string; data: Uint8Array; start: number; end: number };

export class PngFormatError extends Error {
  override name = 'PngFormatError';
}

/**
 * The chunks up to and including IEND, each CRC-checked. Throws PngFormatError for a non-PNG or a broken chunk
 * structure; a file that ends without IEND is returned as far as it goes (the last chunk is not IEND).
 */
export function readChunks(png: Uint8Array): RawChunk[] {
  if (png.length < 8 || !SIGNATURE.every((b, i) => png[i] === b)) throw new PngFormatError('not a PNG file');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: RawChunk[] = [];
  let pos = 8;
  while (pos < png.length) {
    if (pos + 12 > png.length) throw new PngFormatError(`truncated chunk header at byte ${pos}`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8));
    const end = pos + 12 + len;
    if (end > png.length)
      throw new PngFormatError(`chunk ${type} at byte ${pos} runs past the end of the file`);
    const data = png.subarray(pos + 8, pos + 8 + len);
    const crc = view.getUint32(pos + 8 + len);
    if (crc32(png.subarray(pos + 4, pos + 8 + len)) !== crc)
      throw new PngFormatError(`bad CRC in chunk ${type}`);
    chunks.push({ type, data, start: pos, end });
    pos = end;
    if (type === 'IEND') break;
  }
  if (chunks[0]?.type !== 'IHDR') throw new PngFormatError('PNG does not start with IHDR');
  return chunks;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

function decodeText(c: RawChunk): PngTextChunk | undefined {
  const d = c.data;
  const nul = d.indexOf(0);
  if (nul < 1) return undefined;
  const keyword = latin1(d.subarray(0, nul));
  if (c.type === 'tEXt') return { keyword, text: latin1(d.subarray(nul + 1)), type: 'tEXt' };
  if (c.type === 'zTXt') {
    if (d[nul + 1] !== 0) return undefined;
    return { keyword, text: latin1(inflateSync(d.subarray(nul + 2))), type: 'zTXt' };
  }
  // iTXt: keyword\0 compressed(1) method(1) language\0 translated keyword\0 text
  const compressed = d[nul + 1] === 1;
  const langEnd = d.indexOf(0, nul + 3);
  if (langEnd < 0) return undefined;
  const transEnd = d.indexOf(0, langEnd + 1);
  if (transEnd < 0) return undefined;
  const body = d.subarray(transEnd + 1);
  const text = Buffer.from(compressed ? inflateSync(body) : body).toString('utf8');
  return { keyword, text, type: 'iTXt' };
}

/** Every text chunk in file order. Throws PngFormatError for a non-PNG or corrupt chunk structure. */
export function readPngText(png: Uint8Array): PngTextChunk[] {
  const out: PngTextChunk[] = [];
  for (const c of readChunks(png)) {
    if (c.type !== 'tEXt' && c.type !== 'zTXt' && c.type !== 'iTXt') continue;
    const t = decodeText(c);
    if (t) out.push(t);
  }
  return out;
}

/** The text of the first chunk with this keyword, or undefined. */
export function getPngText(png: Uint8Array, keyword: string): string | undefined {
  return readPngText(png).find((t) => t.keyword === keyword)?.text;
}

function checkKeyword(k: string): void {
  if (
    k.length < 1 ||
    k.length > 79 ||
    /[^\u0020-\u007e\u00a1-\u00ff]/.test(k) ||
    k !== k.trim() ||
    k.includes('  ')
  )
    throw new Error(`invalid PNG text keyword ${JSON.stringify(k)}: 1-79 printable Latin-1 characters`);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes one text chunk: tEXt when the text is Latin-1 (what ComfyUI and A1111 readers expect), otherwise
 * iTXt with UTF-8; `compress` (texts over 1 KiB by default) uses zTXt / compressed iTXt.
 */
export function encodeTextChunk(keyword: string, text: string, compress = text.length > 1024): Buffer {
  checkKeyword(keyword);
  const kw = Buffer.from(keyword, 'latin1');
  const isLatin1 = !/[^\n\u0020-\u007e\u00a0-\u00ff]/.test(text);
  if (isLatin1) {
    if (!compress) return chunk('tEXt', Buffer.concat([kw, Buffer.of(0), Buffer.from(text, 'latin1')]));
    return chunk('zTXt', Buffer.concat([kw, Buffer.of(0, 0), deflateSync(Buffer.from(text, 'latin1'))]));
  }
  const body = compress ? deflateSync(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8');
  return chunk('iTXt', Buffer.concat([kw, Buffer.of(0, compress ? 1 : 0, 0, 0, 0), body]));
}

/**
 * Returns a copy of `png` with the given text chunks placed right after IHDR (before the image data, where
 * streaming readers look). Existing text chunks with the same keywords are removed; others are kept.
 */
export function withPngText(
  png: Uint8Array,
  entries: Record<string, string>,
  options: { compress?: boolean } = {},
): Buffer {
  const chunks = readChunks(png);
  const keys = new Set(Object.keys(entries));
  const parts: Uint8Array[] = [SIGNATURE];
  for (const c of chunks) {
    if (c.type === 'tEXt' || c.type === 'zTXt' || c.type === 'iTXt') {
      const t = decodeText(c);
      if (t && keys.has(t.keyword)) continue;
    }
    parts.push(png.subarray(c.start, c.end));
    if (c.type === 'IHDR') {
      for (const [k, v] of Object.entries(entries)) parts.push(encodeTextChunk(k, v, options.compress));
    }
  }
  return Buffer.concat(parts);
}
