import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { defaultEngineBinary, EngineClient, EngineError } from './engineClient.ts';
import { runProcess } from './processGateway.ts';
import { SafetensorsInfoResult } from './protocol.ts';
import {
  floatToHalf,
  halfToFloat,
  parseHeader,
  SafetensorsError,
  SafetensorsReader,
  serializeSafetensors,
  type Tensor,
  toFloat32,
  writeSafetensors,
} from './safetensors.ts';

const BIN = defaultEngineBinary();
const HAVE_BIN = existsSync(BIN);
if (!HAVE_BIN) console.warn(`[safetensors round trip] skipped: engine binary not built at ${BIN}`);

function fileOf(header: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

/** Bytes written by the Python `safetensors` 0.8.0 library (same example as the C++ test). */
const PY_HEADER =
  '{"__metadata__":{"format":"pt"},"idx":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
  '"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"h":{"dtype":"F16","shape":[1,1],"data_offsets":[16,18]},' +
  '"m":{"dtype":"U8","shape":[3],"data_offsets":[18,21]},"flag":{"dtype":"BOOL","shape":[2],"data_offsets":[21,23]}} ';
const PY_DATA = Buffer.from([
  3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0x00, 0x38, 1, 2, 3, 1, 0,
]);

function pythonExample(): Record<string, Tensor> {
  return {
    w: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) },
    idx: { dtype: 'I64', shape: [1], data: new BigInt64Array([3n]) },
    m: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    h: { dtype: 'F16', shape: [1, 1], data: new Uint16Array([floatToHalf(0.5)]) },
    flag: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
  };
}

/** One tensor of every dtype the engine loads, with awkward values. */
function allDtypes(): Record<string, Tensor> {
  const f = [0.5, -1.25, 3, 65504, 1e-3, -0];
  return {
    f32: { dtype: 'F32', shape: [2, 3], data: new Float32Array(f) },
    f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
    f16: { dtype: 'F16', shape: [6], data: new Uint16Array(f.map(floatToHalf)) },
    bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc040]) },
    i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 2n ** 40n + 7n]) },
    i32: { dtype: 'I32', shape: [1, 2], data: new Int32Array([-2147483648, 2147483647]) },
    i16: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 1234]) },
    i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    u8: { dtype: 'U8', shape: [2, 2], data: new Uint8Array([0, 1, 254, 255]) },
    bool: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    'unicode name é': { dtype: 'U8', shape: [1], data: new Uint8Array([9]) },
  };
}

function expectSameTensors(a: Map<string, Tensor>, b: Record<string, Tensor>): void {
  expect([...a.keys()].sort()).toEqual(Object.keys(b).sort());
  for (const [name, t] of Object.entries(b)) {
    const got = a.get(name)!;
    expect(got.dtype, name).toBe(t.dtype);
    expect(got.shape, name).toEqual(t.shape);
    expect(
      Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      ),
      name,
    ).toBe(true);
  }
}

describe('TypeScript safetensors reader/writer', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.cleanup());

  it('writes the same bytes as the Python library', () => {
    expect(serializeSafetensors(pythonExample(), { format: 'pt' }).equals(fileOf(PY_HEADER, PY_DATA))).toBe(
      true,
    );
  });

  it('reads files written by the Python library', () => {
    const p = join(tmp.dir, 'py.safetensors');
    writeFileSync(p, fileOf(PY_HEADER, PY_DATA));
    const r = SafetensorsReader.open(p);
    expect(r.metadata).toEqual({ format: 'pt' });
    expectSameTensors(r.readAll(), pythonExample());
    expect(toFloat32(r.read('h'))[0]).toBe(0.5);
    expect(Array.from(toFloat32(r.read('w')))).toEqual([1, -2]);
  });

  it('round-trips every dtype and the metadata', () => {
    const p = join(tmp.dir, 'all.safetensors');
    writeSafetensors(p, allDtypes(), { a: '1', ss_tag: 'caf\u00e9' });
    const r = SafetensorsReader.open(p);
    expect(r.metadata).toEqual({ a: '1', ss_tag: 'caf\u00e9' });
    expectSameTensors(r.readAll(), allDtypes());
    expect(Array.from(toFloat32(r.read('bf16')))).toEqual([1, -3]);
  });

  it('converts half floats exactly', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 2 ** -24])
      expect(halfToFloat(floatToHalf(v))).toBe(v);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Number.POSITIVE_INFINITY);
  });

  const good = '{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const cases: [string, Buffer, string][] = [
    ['empty file', Buffer.alloc(0), 'truncated'],
    [
      'huge header length',
      Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x80]), Buffer.from('{}')]),
      'exceeds the file size',
    ],
    ['truncated data', fileOf(good, Buffer.alloc(5)), 'truncated'],
    ['non-JSON header', fileOf('{not json}'), 'not valid JSON'],
    [
      'lying offsets',
      fileOf('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}', Buffer.alloc(8)),
      'past the data region',
    ],
    [
      'overlapping ranges',
      fileOf(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
        Buffer.alloc(12),
      ),
      'overlap',
    ],
    [
      'wrong shape x size',
      fileOf('{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', Buffer.alloc(8)),
      'span 8 bytes',
    ],
    [
      'unknown dtype',
      fileOf('{"t":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}', Buffer.alloc(8)),
      'unknown dtype',
    ],
    [
      'negative dim',
      fileOf('{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', Buffer.alloc(8)),
      'negative',
    ],
    ['metadata not strings', fileOf('{"__metadata__":{"a":1}}'), '__metadata__'],
  ];

  it.each(cases)('rejects %s', (_label, bytes, fragment) => {
    const p = join(tmp.dir, 'bad.safetensors');
    writeFileSync(p, bytes);
    expect(() => SafetensorsReader.open(p)).toThrow(SafetensorsError);
    expect(() => SafetensorsReader.open(p)).toThrow(fragment);
    expect(() => SafetensorsReader.open(p)).toThrow('bad.safetensors');
  });

  it('names the tensor in per-tensor errors', () => {
    expect(() =>
      parseHeader(
        fileOf('{"weird":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', Buffer.alloc(8)),
        8 + 58 + 8,
        'f',
      ),
    ).toThrow("tensor 'weird'");
  });

  describe.skipIf(!HAVE_BIN)('round trip with the C++ engine', () => {
    it('TypeScript writes -> C++ reads and writes back -> TypeScript reads, byte-identical', async () => {
      const src = join(tmp.dir, 'ts.safetensors');
      const out = join(tmp.dir, 'cpp.safetensors');
      writeSafetensors(src, allDtypes(), { format: 'pt', note: 'round trip' });
      const r = await runProcess(BIN, ['safetensors-roundtrip', src, out], { timeoutMs: 60_000 });
      expect(r.code, r.stderrTail.join('\n')).toBe(0);
      const back = SafetensorsReader.open(out);
      expect(back.metadata).toEqual({ format: 'pt', note: 'round trip' });
      expectSameTensors(back.readAll(), allDtypes());
      expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    });

    it('C++ and TypeScript parse headers identically', async () => {
      const src = join(tmp.dir, 'ts.safetensors');
      writeSafetensors(src, allDtypes(), { k: 'v' });
      const r = await runProcess(BIN, ['safetensors-info', src], { timeoutMs: 60_000 });
      expect(r.code, r.stderrTail.join('\n')).toBe(0);
      const info = SafetensorsInfoResult.parse(JSON.parse(r.stdout));
      const ts = SafetensorsReader.open(src);
      expect(info.metadata).toEqual(ts.metadata);
      expect(info.file_size).toBe(ts.fileSize);
      expect(info.tensors.map((t) => [t.name, t.dtype, t.shape, t.data_offsets])).toEqual(
        ts.tensors.map((t) => [t.name, t.dtype, t.shape, [t.begin, t.end]]),
      );
    });

    it('C++ rejects the same broken files, naming the file (one engine, many requests)', async () => {
      const client = new EngineClient({ workDir: tmp.dir, threads: 1 });
      try {
        for (const [label, bytes, fragment] of cases) {
          const p = join(tmp.dir, `bad-${label.replace(/\W+/g, '-')}.safetensors`);
          writeFileSync(p, bytes);
          const err = await client.request('safetensors_info', { path: p }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, label).toBeInstanceOf(EngineError);
          expect((err as EngineError).code, label).toBe('bad_file');
          expect((err as EngineError).message, label).toContain(p);
          expect((err as EngineError).message, label).toContain(fragment);
        }
      } finally {
        await client.close();
      }
    });

    it('the CLI exits 1 with the error on stderr', async () => {
      const p = join(tmp.dir, 'bad.safetensors');
      writeFileSync(p, cases[3]![1]);
      const r = await runProcess(BIN, ['safetensors-info', p], { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stderrTail.join('\n')).toMatch(/error \[bad_file\]: .*bad\.safetensors.*not valid JSON/);
    });
  });
});
