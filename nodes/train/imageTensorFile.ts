import { writeFile } from 'node:fs/promises';

/** safetensors bytes of one uint8 RGB image as the engine's `images` tensor [1, H, W, 3]. */
export function u8ImageTensorBytes(rgb: Buffer, width: number, height: number): Buffer {
  const n = width * height * 3;
  if (rgb.length !== n)
    throw new Error(`image data has ${rgb.length} bytes, expected ${width}x${height}x3 = ${n}`);
  let header = JSON.stringify({
    images: { dtype: 'U8', shape: [1, height, width, 3], data_offsets: [0, n] },
  });
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const head = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + head.length + n);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  rgb.copy(out, 8 + head.length);
  return out;
}

export async function writeU8ImageTensor(
  path: string,
  rgb: Buffer,
  width: number,
  height: number,
): Promise<void> {
  await writeFile(path, u8ImageTensorBytes(rgb, width, height));
}
