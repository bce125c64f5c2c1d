import { readFile } from 'node:fs/promises';

/** One RGB image from the engine: tightly packed uint8 HWC. */
export type RgbImage = { width: number; height: number; data: Buffer };

/**
 * Reads the `images` tensor (U8, [N,H,W,3]) of a safetensors file written by the engine's `sample` op and
 * splits it into images. Errors name the file and what is wrong.
 */
export async function readImageTensor(path: string, name = 'images'): Promise<RgbImage[]> {
  const buf = await readFile(path);
  return splitImageTensor(buf, path, name);
}

export function splitImageTensor(buf: Buffer, path: string, name = 'images'): RgbImage[] {
  const where = `${path} tensor '${name}'`;
  if (buf.length < 8)
    throw new Error(`${path}: not a safetensors file (shorter than its 8-byte header length)`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length)
    throw new Error(`${path}: safetensors header length is out of range`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new Error(`${path}: safetensors header is not valid JSON`);
  }
  const entry = header[name] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | undefined;
  if (!entry)
    throw new Error(
      `${path}: no tensor '${name}' (has: ${Object.keys(header)
        .filter((k) => k !== '__metadata__')
        .join(', ')})`,
    );
  if (entry.dtype !== 'U8') throw new Error(`${where}: expected dtype U8, got ${String(entry.dtype)}`);
  const shape = entry.shape as number[];
  if (!Array.isArray(shape) || shape.length !== 4 || shape[3] !== 3)
    throw new Error(`${where}: expected shape [N,H,W,3], got ${JSON.stringify(shape)}`);
  const [n, h, w] = shape as [number, number, number, number];
  const [begin, end] = entry.data_offsets as [number, number];
  const base = 8 + headerLen;
  if (end - begin !== n * h * w * 3 || base + end > buf.length)
    throw new Error(`${where}: data size does not match the shape ${JSON.stringify(shape)}`);
  const out: RgbImage[] = [];
  const size = h * w * 3;
  for (let i = 0; i < n; i++) {
    const start = base + begin + i * size;
    out.push({ width: w, height: h, data: Buffer.from(buf.subarray(start, start + size)) });
  }
  return out;
}
