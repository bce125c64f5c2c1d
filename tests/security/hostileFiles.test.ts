import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wd14Tagger } from '../../nodes/caption/wd14Tagger.ts';
import { loadImages } from '../../nodes/dataset/loadImages.ts';
import { MAX_INPUT_PIXELS } from '../../nodes/image/openImage.ts';
import { loadCheckpoint } from '../../nodes/model/loadCheckpoint.ts';
import { loadLora } from '../../nodes/model/loadLora.ts';
import type { ImagesValue } from '../../nodes/sdk/values.ts';
import { cutUnreadBodies } from '../../server/api/http/unreadBody.ts';
import { type LoraflowServer, startServer } from '../../server/app.ts';
import { loadConfig } from '../../server/config/config.ts';
import { defaultEngineBinary, EngineClient, EngineError } from '../../server/engine/engineClient.ts';
import { SafetensorsError, SafetensorsReader } from '../../server/engine/safetensors.ts';
import { createRoots, type Roots } from '../../server/fs/roots.ts';
import { createUploadRouter } from '../../server/fs/uploadRouter.ts';
import { buildModel, floatTensor, node, valueInfo } from '../dataset/onnxBuilder.ts';
import { createNodeTestContext, type NodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { createTestRegistry } from '../helpers/testNodes.ts';
import { bombPng, hostileSafetensors } from './hostileFiles.ts';

const MB = 1024 * 1024;
const ENGINE = defaultEngineBinary();
const hasEngine = existsSync(ENGINE);

let tmp: ReturnType<typeof makeTempDir>;
let models: string;
let datasets: string;
let roots: Roots;
let bomb: Buffer;

beforeAll(async () => {
  tmp = makeTempDir('loraflow-sec-files-');
  models = join(tmp.dir, 'models');
  datasets = join(tmp.dir, 'datasets');
  mkdirSync(models);
  mkdirSync(join(datasets, 'set'), { recursive: true });
  for (const f of hostileSafetensors()) writeFileSync(join(models, f.name), f.bytes);
  bomb = await bombPng();
  roots = createRoots({ dataset: [datasets], model: [models], output: join(tmp.dir, 'out') });
});
afterAll(() => tmp.cleanup());

/** Largest RSS seen while `work` runs (sampled), minus the RSS before it. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

function nodeContext(name: string, services: Record<string, unknown> = {}): NodeTestContext {
  return createNodeTestContext({ dataDir: join(tmp.dir, `ctx-${name}`), services: { roots, ...services } });
}

describe('hostile safetensors', () => {
  it.each(hostileSafetensors().map((f) => [f.name, f] as const))(
    'the TypeScript reader refuses %s with a clear error naming the file, in bounded memory',
    async (name, f) => {
      const { result, growth } = await peakRssGrowth(async () => {
        try {
          SafetensorsReader.open(join(models, name));
          return undefined;
        } catch (e) {
          return e;
        }
      });
      expect(result).toBeInstanceOf(SafetensorsError);
      expect((result as Error).message).toContain(name);
      expect((result as Error).message).toMatch(f.error);
      expect(growth).toBeLessThan(64 * MB);
    },
  );

  it('Load LoRA refuses every hostile file with an error naming the node and the file', async () => {
    const t = nodeContext('lora');
    try {
      for (const f of hostileSafetensors()) {
        await expect(runNodeForTest(loadLora, t, {}, { file: f.name }), f.name).rejects.toThrow(
          new RegExp(`^Load LoRA: "${f.name.replace('.', '\\.')}" is not a usable safetensors file: .*`),
        );
      }
    } finally {
      t.close();
    }
  });

  it.skipIf(!hasEngine)(
    'the engine CLI refuses the headline cases with bad_file and exit code 1',
    { timeout: 240_000 },
    () => {
      // Each start loads libtorch (seconds), so the CLI gets three cases; the engine the server runs gets all.
      const headline = ['len-2pow63.safetensors', 'offsets-past-end.safetensors', 'zero.safetensors'];
      for (const name of headline) {
        const r = spawnSync(ENGINE, ['load-model', join(models, name), '--device', 'cpu'], {
          encoding: 'utf8',
          timeout: 120_000,
        });
        expect(r.status, `${name}: ${r.stderr}`).toBe(1);
        expect(r.stderr, name).toMatch(/error \[bad_file\]/);
        expect(r.stderr, name).toContain(name);
      }
    },
  );

  it.skipIf(!hasEngine)(
    'the engine serving the server answers bad_file for each, stays up and keeps its memory bounded',
    async () => {
      const client = new EngineClient({ workDir: join(tmp.dir, 'engine'), binPath: ENGINE });
      try {
        await client.hello();
        const pid = client.pid!;
        for (const f of hostileSafetensors()) {
          const err = await client
            .request('load_model', { path: join(models, f.name) }, { timeoutMs: 60_000 })
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          expect(err, f.name).toBeInstanceOf(EngineError);
          expect((err as EngineError).code, f.name).toBe('bad_file');
          expect((err as Error).message, f.name).toContain(f.name);
          const info = await client
            .request('safetensors_info', { path: join(models, f.name) })
            .catch((e) => e);
          expect((info as EngineError).code, f.name).toBe('bad_file');
        }
        expect(client.pid).toBe(pid);
        const status = `/proc/${pid}/status`;
        if (existsSync(status)) {
          const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'))?.[1];
          expect(Number(hwm) * 1024, 'engine peak RSS').toBeLessThan(1024 * MB);
        }
      } finally {
        await client.close();
      }
    },
  );

  it.skipIf(!hasEngine)(
    'Load Checkpoint on a zero-byte model fails with "empty (0 bytes)" from the real engine',
    async () => {
      writeFileSync(join(models, 'empty.safetensors'), Buffer.alloc(0));
      const engine = new EngineClient({ workDir: join(tmp.dir, 'engine-ckpt'), binPath: ENGINE });
      const t = nodeContext('ckpt', { engine });
      try {
        await expect(runNodeForTest(loadCheckpoint, t, {}, { file: 'empty.safetensors' })).rejects.toThrow(
          /empty\.safetensors is empty \(0 bytes\)/,
        );
      } finally {
        t.close();
        await engine.close();
      }
    },
  );
});

describe('decompression bombs', () => {
  it('is a real bomb: small file, over the pixel limit, under sharp’s default limit', async () => {
    expect(bomb.length).toBeLessThan(1 * MB);
    const meta = await sharp(bomb).metadata();
    expect(meta.width! * meta.height!).toBeGreaterThan(MAX_INPUT_PIXELS);
  });

  it('Load Images skips a bomb by name as too large, keeps the good images, in bounded memory', async () => {
    writeFileSync(join(datasets, 'set', 'bomb.png'), bomb);
    writeFileSync(
      join(datasets, 'set', 'ok.png'),
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0f0' } })
        .png()
        .toBuffer(),
    );
    const t = nodeContext('bomb');
    try {
      const { result, growth } = await peakRssGrowth(() =>
        runNodeForTest(loadImages, t, {}, { folder: 'set' }),
      );
      const items = (result.outputs.images as ImagesValue).items;
      expect(items.map((i) => i.source)).toEqual(['set/ok.png']);
      expect(t.warnings.join('\n')).toMatch(/bomb\.png \(too large: more than 100000000 pixels/);
      expect(growth).toBeLessThan(128 * MB);
    } finally {
      t.close();
    }
  });

  it('an uploaded bomb is rejected by name for its pixel count', async () => {
    const app = express().use(createUploadRouter(roots));
    const { server, url } = await listen(app);
    try {
      const fd = new FormData();
      fd.append('files', new Blob([new Uint8Array(bomb)]), 'bomb.png');
      const res = await fetch(`${url}/api/upload?path=set`, { method: 'POST', body: fd });
      const body = (await res.json()) as { rejected: { name: string; reason: string }[] };
      expect(res.status).toBe(400);
      expect(body.rejected).toEqual([
        expect.objectContaining({
          name: 'bomb.png',
          reason: expect.stringMatching(/more than 100000000 pixels/),
        }),
      ]);
    } finally {
      server.close();
    }
  });
});

function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
}

/**
 * Streams a multipart upload that would be `totalBytes` long (nothing that large is ever built), stopping as
 * soon as the server answers or closes the connection. Returns the status and how many bytes were sent.
 */
function streamUpload(
  url: string,
  totalBytes: number,
  o: { declareLength: boolean; method?: string; contentType?: string; head?: Buffer },
): Promise<{ status: number; sent: number; body: string }> {
  const u = new URL(url);
  const boundary = 'hugeboundary';
  const head =
    o.head ??
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="huge.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
  const block = Buffer.alloc(MB, 0x41);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let finished = false;
    const req = request({
      host: u.hostname,
      port: u.port,
      method: o.method ?? 'POST',
      path: `${u.pathname}${u.search}`,
      headers: {
        'content-type': o.contentType ?? `multipart/form-data; boundary=${boundary}`,
        ...(o.declareLength ? { 'content-length': String(totalBytes) } : {}),
      },
    });
    req.on('response', (res) => {
      finished = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      const done = () => {
        resolve({ status: res.statusCode ?? 0, sent, body });
        req.destroy();
      };
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', (e) => {
      if (!finished) reject(e);
    });
    const pump = () => {
      while (!finished && sent < totalBytes) {
        const piece = sent === 0 ? head : block;
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('a 10 GB upload', () => {
  const TEN_GB = 10 * 1024 ** 3;
  let server: LoraflowServer;
  beforeAll(async () => {
    const config = loadConfig({
      cwd: tmp.dir,
      env: {},
      overrides: { dataDir: join(tmp.dir, 'srv'), port: 0 },
    });
    server = await startServer({ config, registry: createTestRegistry(), clientDist: null, engine: false });
  });
  afterAll(() => server.close());

  it('is refused from its Content-Length before the body is read (default limits)', async () => {
    const { result, growth } = await peakRssGrowth(() =>
      streamUpload(`${server.url}/api/upload?path=`, TEN_GB, { declareLength: true }),
    );
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'body_too_large' } });
    expect(result.sent).toBeLessThan(256 * MB);
    expect(growth).toBeLessThan(128 * MB);
  });

  it('is cut short on every route that takes a body, declared or streamed', async () => {
    const json = { contentType: 'application/json', head: Buffer.from('{"workflow": "') };
    const routes: { path: string; method?: string; contentType?: string; head?: Buffer; limit: number }[] = [
      { path: '/api/runs', ...json, limit: 10 * MB },
      { path: '/api/workflows/huge', method: 'PUT', ...json, limit: 10 * MB },
      { path: '/api/runs/nope/cancel', ...json, limit: 0 },
      {
        path: '/api/workflows/from-image',
        contentType: 'image/png',
        head: Buffer.alloc(8, 0x89),
        limit: 64 * MB,
      },
      { path: '/api/upload?path=', limit: 1024 * MB },
    ];
    for (const r of routes) {
      for (const declareLength of r.limit > 64 * MB ? [true] : [true, false]) {
        const { result, growth } = await peakRssGrowth(() =>
          streamUpload(`${server.url}${r.path}`, TEN_GB, { ...r, declareLength }),
        );
        const what = `${r.method ?? 'POST'} ${r.path} (${declareLength ? 'Content-Length' : 'chunked'})`;
        expect(result.status, `${what}: ${result.body}`).toBeGreaterThanOrEqual(400);
        expect(result.status, what).toBeLessThan(500);
        expect(JSON.parse(result.body).error.message, what).toBeTruthy();
        expect(result.sent, what).toBeLessThan((declareLength ? 0 : r.limit) + 48 * MB);
        expect(growth, what).toBeLessThan(192 * MB);
      }
    }
  });

  it('is refused early when streamed without a length: past the request limit, not at the end', async () => {
    const app = express()
      .use(cutUnreadBodies())
      .use(createUploadRouter(roots, { maxFileBytes: 2 * MB, maxRequestBytes: 8 * MB }));
    const { server: s, url } = await listen(app);
    try {
      const { result, growth } = await peakRssGrowth(() =>
        streamUpload(`${url}/api/upload?path=set`, TEN_GB, { declareLength: false }),
      );
      expect(result.status).toBe(413);
      expect(JSON.parse(result.body).error.message).toMatch(/8388608 byte request limit/);
      // Socket buffers let some more through; what matters is gigabytes were not.
      expect(result.sent).toBeLessThan(64 * MB);
      expect(growth).toBeLessThan(128 * MB);
    } finally {
      s.close();
    }
  });
});

describe('model files that are not what they claim', () => {
  const tagsCsv = 'tag_id,name,category,count\n0,tag_a,0,100\n';
  const tagger = () =>
    buildModel({
      inputs: [valueInfo('input_1:0', 'float', [1, 4, 4, 3])],
      outputs: [valueInfo('predictions_sigmoid', 'float', [1, 1])],
      initializers: [floatTensor('w', [3, 1], [0, 0, 0])],
      nodes: [
        node('ReduceMean', ['input_1:0'], ['mean'], { axes: [1, 2], keepdims: 0 }),
        node('MatMul', ['mean', 'w'], ['logits']),
        node('Sigmoid', ['logits'], ['predictions_sigmoid']),
      ],
    });
  /** A tagger folder: `model.onnx` with the given bytes and a one-tag `selected_tags.csv`. */
  const taggerFolder = (name: string, onnx: Uint8Array): string => {
    const dir = join(models, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), onnx);
    writeFileSync(join(dir, 'selected_tags.csv'), tagsCsv);
    return name;
  };
  const oneWhiteImage = async (t: NodeTestContext): Promise<ImagesValue> => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const item = {
      hash: await t.store.put(png),
      width: 4,
      height: 4,
      caption: '',
      repeats: 1,
      regularization: false,
    };
    return { kind: 'images', items: [item] };
  };

  it.each([
    [
      'a PNG renamed to model.onnx',
      async () =>
        sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
    ],
    ['a zero-byte model.onnx', async () => Buffer.alloc(0)],
    ['text', async () => Buffer.from('this is not a protobuf at all')],
    ['a truncated ONNX model', async () => Buffer.from(tagger()).subarray(0, 40)],
    ['random bytes', async () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251))],
  ])('WD14 Tagger refuses %s with a clear error naming the node and the file', async (what, bytes) => {
    const folder = taggerFolder(`tagger-${what.replace(/\W+/g, '-')}`, await bytes());
    const t = nodeContext(`onnx-${what.replace(/\W+/g, '-')}`);
    try {
      const images = await oneWhiteImage(t);
      const { result, growth } = await peakRssGrowth(() =>
        runNodeForTest(wd14Tagger, t, { images }, { model: folder }).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toMatch(
        /^WD14 Tagger: model: model\.onnx could not be loaded by onnxruntime/,
      );
      expect(growth).toBeLessThan(128 * MB);
    } finally {
      t.close();
    }
  });

  it('a valid tagger in the same layout still loads (the cases above fail for their bytes only)', async () => {
    taggerFolder('tagger-valid', tagger());
    const t = nodeContext('onnx-valid');
    try {
      const images = await oneWhiteImage(t);
      const r = await runNodeForTest(
        wd14Tagger,
        t,
        { images },
        { model: 'tagger-valid', generalThreshold: 0.1 },
      );
      expect((r.outputs.images as ImagesValue).items).toHaveLength(1);
    } finally {
      t.close();
    }
  });
});
