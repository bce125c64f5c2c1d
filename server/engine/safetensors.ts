/**
 * Independent TypeScript safetensors reader and writer (no dependency on the engine), used to check the
 * C++ implementation by round trips, and usable by the server for small files (latents, LoRA weights).
 *
 * Reader validation matches native/src/io/safetensors_reader.cpp: header length >= 2 and within
 * min(100 MB, file size - 8); a JSON object starting with '{'; "__metadata__" string -> string; every
 * tensor entry has a known dtype, non-negative integer dims with a safe product, begin <= end <= data
 * size, shape x dtype size == end - begin, and no two non-empty byte ranges overlap.
 * The writer produces the same bytes as the Python library: data ordered by dtype (widest first) then
 * name, header = __metadata__ then tensors in data order, padded with spaces to a multiple of 8;
 * written atomically (temp file in the same directory, fsync, rename).
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;
export type Dtype = keyof typeof DTYPE_SIZES;
/** Rank in the Rust library's Dtype enum (= the order above), used for the data layout. */
const DTYPE_RANK: Record<Dtype, number> = Object.fromEntries(
  Object.keys(DTYPE_SIZES).map((k, i) => [k, i]),
) as Record<Dtype, number>;

export type TensorArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Byte range relative to the start of the data region. */
  begin: number;
  end: number;
}

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  /**
   * Element data: F32 Float32Array, F64 Float64Array, I8 Int8Array, I16 Int16Array, I32 Int32Array,
   * I64 BigInt64Array, U64 BigUint64Array, U8/BOOL/F8_* Uint8Array, U16/F16/BF16 Uint16Array (raw bits),
   * U32 Uint32Array.
   */
  data: TensorArray;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor !== undefined ? `tensor '${tensor}': ` : ''}${message}`);
  }
}

const MAX_HEADER = 100_000_000;

function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_SIZES, s);
}

export interface ParsedHeader {
  tensors: TensorInfo[];
  metadata: Record<string, string>;
  /** Byte offset of the data region in the file (8 + header length). */
  dataOffset: number;
}

/**
 * Validates the 8-byte length + JSON header at the start of `head` (which must hold at least the
 * header) for a file of `fileSize` bytes.
 */
export function parseHeader(head: Uint8Array, fileSize: number, file = '<buffer>'): ParsedHeader {
  if (fileSize < 8 || head.length < 8) {
    throw new SafetensorsError(file, `truncated: ${fileSize} bytes, too small for a safetensors file`);
  }
  const n = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(file, `header length ${n} exceeds the file size (${fileSize} bytes)`);
  }
  if (n > BigInt(MAX_HEADER)) throw new SafetensorsError(file, `header length ${n} exceeds the 100 MB limit`);
  const len = Number(n);
  if (len < 2) throw new SafetensorsError(file, `header length ${len} is too small for a JSON object`);
  if (head.length < 8 + len)
    throw new SafetensorsError(file, 'header buffer is shorter than the header length');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(8, 8 + len));
  if (text[0] !== '{') throw new SafetensorsError(file, "header does not start with '{'");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError(file, 'header is not a JSON object');
  }
  const dataSize = fileSize - 8 - len;
  const tensors: TensorInfo[] = [];
  const metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw new SafetensorsError(file, '__metadata__ is not an object');
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string')
          throw new SafetensorsError(file, `__metadata__ value '${k}' is not a string`);
        metadata[k] = mv;
      }
      continue;
    }
    const bad = (msg: string): never => {
      throw new SafetensorsError(file, msg, name);
    };
    if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('entry is not an object');
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string') bad("missing or non-string 'dtype'");
    if (!isDtype(e.dtype)) bad(`unknown dtype '${String(e.dtype)}'`);
    if (!Array.isArray(e.shape)) bad("missing or non-array 'shape'");
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
      bad("missing 'data_offsets' or it is not [begin, end]");
    const dtype = e.dtype as Dtype;
    const shape: number[] = [];
    let count = 1n;
    for (const d of e.shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isInteger(d)) bad('shape contains a non-integer');
      if ((d as number) < 0) bad('shape has a negative dimension');
      if (!Number.isSafeInteger(d)) bad('shape product overflows');
      shape.push(d as number);
      count *= BigInt(d as number);
    }
    const nbytes = count * BigInt(DTYPE_SIZES[dtype]);
    if (nbytes > BigInt(Number.MAX_SAFE_INTEGER)) bad('shape product overflows');
    const [b, en] = e.data_offsets as unknown[];
    for (const o of [b, en]) {
      if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)
        bad('data_offsets are not non-negative integers');
    }
    const begin = b as number;
    const end = en as number;
    if (begin > end) bad(`data_offsets begin ${begin} > end ${end}`);
    if (end > dataSize) {
      bad(
        `data_offsets [${begin}, ${end}] point past the data region (${dataSize} bytes): the file is truncated or its header lies`,
      );
    }
    if (BigInt(end - begin) !== nbytes)
      bad(`shape x dtype = ${nbytes} bytes but data_offsets span ${end - begin} bytes`);
    tensors.push({ name, dtype, shape, begin, end });
  }
  tensors.sort((a, z) => a.begin - z.begin || a.end - z.end);
  for (let i = 1; i < tensors.length; i++) {
    const p = tensors[i - 1]!;
    const c = tensors[i]!;
    if (c.begin < p.end && c.end > c.begin && p.end > p.begin) {
      throw new SafetensorsError(
        file,
        `tensors '${p.name}' [${p.begin}, ${p.end}) and '${c.name}' [${c.begin}, ${c.end}) overlap`,
      );
    }
  }
  return { tensors, metadata, dataOffset: 8 + len };
}

function makeArray(dtype: Dtype, bytes: Uint8Array): TensorArray {
  // Copy into a fresh, aligned buffer.
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F64':
      return new Float64Array(buf);
    case 'I8':
      return new Int8Array(buf);
    case 'I16':
      return new Int16Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'U64':
      return new BigUint64Array(buf);
    case 'U16':
    case 'F16':
    case 'BF16':
      return new Uint16Array(buf);
    case 'U32':
      return new Uint32Array(buf);
    default:
      return new Uint8Array(buf);
  }
}

/** A safetensors file opened for lazy reads: only the header is read up front. */
export class SafetensorsReader {
  private constructor(
    readonly path: string,
    readonly fileSize: number,
    readonly header: ParsedHeader,
  ) {}

  static open(path: string): SafetensorsReader {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      const first = Buffer.alloc(Math.min(8, size));
      readSync(fd, first, 0, first.length, 0);
      let head: Uint8Array = first;
      if (size >= 8) {
        const n = first.readBigUInt64LE(0);
        if (n <= BigInt(Math.min(size - 8, MAX_HEADER))) {
          head = Buffer.alloc(8 + Number(n));
          readSync(fd, head, 0, head.length, 0);
        }
      }
      return new SafetensorsReader(path, size, parseHeader(head, size, path));
    } finally {
      closeSync(fd);
    }
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }
  get tensors(): TensorInfo[] {
    return this.header.tensors;
  }
  info(name: string): TensorInfo {
    const t = this.header.tensors.find((x) => x.name === name);
    if (!t) throw new SafetensorsError(this.path, `no tensor named '${name}'`);
    return t;
  }
  read(name: string): Tensor {
    const t = this.info(name);
    const bytes = Buffer.alloc(t.end - t.begin);
    if (bytes.length > 0) {
      const fd = openSync(this.path, 'r');
      try {
        readSync(fd, bytes, 0, bytes.length, this.header.dataOffset + t.begin);
      } finally {
        closeSync(fd);
      }
    }
    return { dtype: t.dtype, shape: [...t.shape], data: makeArray(t.dtype, bytes) };
  }
  readAll(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const t of this.header.tensors) out.set(t.name, this.read(t.name));
    return out;
  }
}

/** Converts F16/BF16 raw bits (or any numeric tensor) to float32 values. */
export function toFloat32(t: Tensor): Float32Array {
  if (t.dtype === 'BF16') {
    const u32 = new Uint32Array(t.data.length);
    for (let i = 0; i < t.data.length; i++) u32[i] = (t.data as Uint16Array)[i]! << 16;
    return new Float32Array(u32.buffer);
  }
  if (t.dtype === 'F16') {
    const out = new Float32Array(t.data.length);
    for (let i = 0; i < t.data.length; i++) out[i] = halfToFloat((t.data as Uint16Array)[i]!);
    return out;
  }
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]!);
  return out;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export function floatToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Builds the complete file bytes (header + data) in the Python library's layout. */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Buffer {
  const entries: [string, Tensor][] =
    tensors instanceof Map
      ? [...(tensors as ReadonlyMap<string, Tensor>).entries()]
      : Object.entries(tensors as Record<string, Tensor>);
  const seen = new Set<string>();
  const items = entries.map(([name, t]) => {
    if (seen.has(name)) throw new Error(`duplicate tensor name '${name}'`);
    seen.add(name);
    if (!isDtype(t.dtype)) throw new Error(`tensor '${name}': unknown dtype '${String(t.dtype)}'`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const nbytes = numel * DTYPE_SIZES[t.dtype];
    if (t.data.byteLength !== nbytes) {
      throw new Error(
        `tensor '${name}': shape [${t.shape}] x ${t.dtype} = ${nbytes} bytes but data has ${t.data.byteLength}`,
      );
    }
    return { name, t, nbytes };
  });
  items.sort(
    (a, b) =>
      DTYPE_RANK[b.t.dtype] - DTYPE_RANK[a.t.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length > 0) header.__metadata__ = Object.fromEntries(metaKeys.map((k) => [k, metadata[k]]));
  let off = 0;
  for (const it of items) {
    header[it.name] = { dtype: it.t.dtype, shape: it.t.shape, data_offsets: [off, off + it.nbytes] };
    off += it.nbytes;
  }
  // JSON.stringify keeps insertion order for non-integer-like keys; integer-like names would be
  // reordered by JS, which only changes the header's key order (still valid safetensors).
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.from(json, 'utf8');
  const pad = (8 - (jsonBytes.length % 8)) % 8;
  json += ' '.repeat(pad);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + off);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  for (const it of items) {
    Buffer.from(it.t.data.buffer, it.t.data.byteOffset, it.t.data.byteLength).copy(out, pos);
    pos += it.nbytes;
  }
  return out;
}

/** Writes atomically: temp file beside `path`, fsync, rename, fsync of the directory. */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  const bytes = serializeSafetensors(tensors, metadata);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  const fd = openSync(tmp, 'w', 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // directories cannot be fsynced on some platforms
  }
}
