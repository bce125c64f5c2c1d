import { createDeflate } from 'node:zlib';
import { crc32 } from '../../nodes/png/crc32.ts';

/** A safetensors file from a raw header text and data bytes, with an explicit (possibly lying) length. */
export function safetensorsBytes(header: string, data = Buffer.alloc(16), length?: bigint): Buffer {
  const json = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const tensor = (shape: number[], offsets: [number, number], dtype = 'F32') =>
  JSON.stringify({ w: { dtype, shape, data_offsets: offsets } });

/** Hostile safetensors files, each with the words its error message must contain. */
export function hostileSafetensors(): { name: string; bytes: Buffer; error: RegExp }[] {
  return [
    { name: 'zero.safetensors', bytes: Buffer.alloc(0), error: /0 bytes|empty|too small|too short/ },
    { name: 'short.safetensors', bytes: Buffer.from([5, 0, 0]), error: /too small|too short|truncated/ },
    {
      name: 'len-2pow63.safetensors',
      bytes: safetensorsBytes('{}', Buffer.alloc(6), 2n ** 63n),
      error: /9223372036854775808|header length|does not fit/,
    },
    {
      name: 'len-max.safetensors',
      bytes: safetensorsBytes('{}', Buffer.alloc(6), 2n ** 64n - 1n),
      error: /18446744073709551615|header length|does not fit/,
    },
    {
      name: 'len-1e9.safetensors',
      bytes: safetensorsBytes('{}', Buffer.alloc(6), 1_000_000_000n),
      error: /1000000000|header length|does not fit/,
    },
    {
      name: 'offsets-past-end.safetensors',
      bytes: safetensorsBytes(tensor([1_000_000, 1_000_000], [0, 4_000_000_000_000])),
      error: /past the data region|truncated|header lies/,
    },
    {
      name: 'shape-overflow.safetensors',
      bytes: safetensorsBytes(tensor([2 ** 40, 2 ** 40], [0, 16])),
      error: /overflow/,
    },
    {
      name: 'shape-mismatch.safetensors',
      bytes: safetensorsBytes(tensor([2], [0, 16])),
      error: /8 bytes but data_offsets span 16/,
    },
    {
      name: 'negative-dim.safetensors',
      bytes: safetensorsBytes(tensor([-1], [0, 4])),
      error: /negative/,
    },
    {
      name: 'overlap.safetensors',
      bytes: safetensorsBytes(
        JSON.stringify({
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        }),
      ),
      error: /overlap/,
    },
    {
      name: 'not-json.safetensors',
      bytes: safetensorsBytes('{"w": [1, 2'),
      error: /JSON/,
    },
    {
      name: 'deep-nesting.safetensors',
      bytes: safetensorsBytes(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, Buffer.alloc(0)),
      error: /not an object|JSON/,
    },
  ];
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/**
 * A decompression bomb: a valid grayscale PNG of `side` x `side` black pixels whose zlib stream is tiny
 * (12000 x 12000 = 144 MP in about 140 KB: over loraflow's 100 MP limit, under sharp's own 268 MP default).
 * The rows are streamed through deflate, so building it holds one row in memory.
 */
export async function bombPng(side = 12_000): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const row = Buffer.alloc(side + 1); // filter byte 0, then black pixels
  for (let y = 0; y < side; y++) {
    if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(parts)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
