import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesRouter } from './filesRouter.ts';
import { createRoots } from './roots.ts';
import { createUploadRouter } from './uploadRouter.ts';

let base: string;
let server: Server;
let url: string;
let png: Buffer;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'loraflow-routers-'));
  for (const d of ['data/set', 'models', 'out', 'secret']) mkdirSync(join(base, d), { recursive: true });
  writeFileSync(join(base, 'secret/passwd'), 'secret');
  symlinkSync(join(base, 'secret'), join(base, 'data/link-out'));
  png = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
  writeFileSync(join(base, 'data/set/a.png'), png);
  const roots = createRoots({
    dataset: [join(base, 'data')],
    model: [join(base, 'models')],
    output: join(base, 'out'),
  });
  const app = express();
  app.use(createFilesRouter(roots));
  app.use(createUploadRouter(roots, { maxFileBytes: 4096, maxRequestBytes: 20_000 }));
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(base, { recursive: true, force: true });
});

describe('GET /api/files', () => {
  it('lists inside a root', async () => {
    const res = await fetch(`${url}/api/files?root=dataset&path=set`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { entries: { path: string; type: string }[] };
    expect(body.entries).toEqual([
      expect.objectContaining({ path: 'set/a.png', type: 'file', size: png.length }),
    ]);
  });

  it('hides symlinks that lead out of the root', async () => {
    const body = (await (await fetch(`${url}/api/files?root=dataset`)).json()) as {
      entries: { name: string }[];
    };
    expect(body.entries.map((e) => e.name)).toEqual(['set']);
  });

  it.each([
    '..%2Fsecret',
    '..%2F..%2F..%2Fetc',
    '%2E%2E/secret',
    'set%5C..%5C..%5Csecret',
    'link-out',
    encodeURIComponent('/etc'),
    'set%00',
  ])('refuses %s with 403', async (p) => {
    const res = await fetch(`${url}/api/files?root=dataset&path=${p}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBeTruthy();
  });

  it('rejects an unknown root kind and repeated path params', async () => {
    expect((await fetch(`${url}/api/files?root=etc&path=`)).status).toBe(400);
    expect((await fetch(`${url}/api/files?root=dataset&path=a&path=b`)).status).toBe(400);
  });
});

function form(files: [string, Uint8Array][]): FormData {
  const fd = new FormData();
  for (const [name, data] of files) fd.append('files', new Blob([new Uint8Array(data)]), name);
  return fd;
}

describe('POST /api/upload', () => {
  it('saves verified images, never overwrites, and rejects bad files by name', async () => {
    const res = await fetch(`${url}/api/upload?path=set`, {
      method: 'POST',
      body: form([
        ['a.png', png],
        ['../../evil.png', png],
        ['broken.png', png.subarray(0, 30)],
        ['notes.txt', new TextEncoder().encode('hello')],
        ['big.png', new Uint8Array(5000)],
      ]),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      saved: { name: string; path: string; width: number }[];
      rejected: { name: string; reason: string }[];
    };
    expect(body.saved.map((s) => s.path)).toEqual(['set/a_1.png', 'set/evil.png']);
    expect(body.saved[0]?.width).toBe(8);
    expect(body.rejected.map((r) => r.name)).toEqual(['broken.png', 'notes.txt', 'big.png']);
    expect(body.rejected[2]?.reason).toContain('per-file limit');
    expect(readFileSync(join(base, 'data/set/a.png'))).toEqual(png);
    expect(readdirSync(join(base, 'data/set')).sort()).toEqual(['a.png', 'a_1.png', 'evil.png']);
    expect(readdirSync(base).sort()).toEqual(['data', 'models', 'out', 'secret']);
  });

  it('refuses target folders outside the roots', async () => {
    for (const p of ['..%2Fsecret', 'link-out']) {
      const res = await fetch(`${url}/api/upload?path=${p}`, {
        method: 'POST',
        body: form([['x.png', png]]),
      });
      expect(res.status).toBe(403);
    }
    expect(readdirSync(join(base, 'secret'))).toEqual(['passwd']);
  });

  it('answers 413 when the request is over the limit', async () => {
    const files: [string, Uint8Array<ArrayBuffer>][] = Array.from({ length: 8 }, (_, i) => [
      `p${i}.png`,
      new Uint8Array(4000),
    ]);
    const res = await fetch(`${url}/api/upload?path=set`, { method: 'POST', body: form(files) });
    expect(res.status).toBe(413);
  });
});
