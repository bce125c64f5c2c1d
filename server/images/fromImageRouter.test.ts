import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatA1111Parameters } from '../../nodes/png/a1111.ts';
import { withPngText } from '../../nodes/png/textChunks.ts';
import { errorHandler } from '../api/http/errors.ts';
import { fromImageRouter } from './fromImageRouter.ts';
import { WORKFLOW_PNG_KEYWORD, workflowFromPng } from './workflowFromPng.ts';

const workflow = {
  format: 'loraflow.workflow',
  version: 1,
  nodes: [
    {
      id: 'n1',
      type: 'loraflow/sample/sample',
      version: '1.0.0',
      params: { prompt: 'a photo of a dog', seed: 42 },
      position: { x: 10, y: 20 },
    },
  ],
  links: [],
  meta: { name: 'dogs', description: '', created_with: 'loraflow 0.1.0' },
};

let plain: Buffer;
let server: Server;
let base: string;

beforeAll(async () => {
  plain = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .png()
    .toBuffer();
  const app = express();
  app.use(fromImageRouter({ maxBytes: 64 * 1024 }));
  app.use(errorHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/workflows/from-image`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const withWorkflow = (png: Buffer) =>
  withPngText(png, {
    [WORKFLOW_PNG_KEYWORD]: JSON.stringify(workflow),
    parameters: formatA1111Parameters({
      prompt: 'a photo of a dog',
      negativePrompt: 'blurry',
      settings: { Steps: 20, Sampler: 'Euler a', 'CFG scale': 7, Seed: 42, Size: '8x8' },
    }),
  });

describe('workflowFromPng', () => {
  it('round-trips the embedded workflow and the A1111 parameters', () => {
    const r = workflowFromPng(withWorkflow(plain));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.workflow.nodes[0]?.params).toEqual({ prompt: 'a photo of a dog', seed: 42 });
    expect(r.fromVersion).toBe(1);
    expect(r.parameters?.prompt).toBe('a photo of a dog');
    expect(r.parameters?.negativePrompt).toBe('blurry');
    expect(r.parameters?.settings.Seed).toBe(42);
  });

  it('reports a PNG from elsewhere with no metadata', () => {
    const r = workflowFromPng(plain);
    expect(r).toMatchObject({ ok: false, status: 422, code: 'no_workflow' });
    if (!r.ok) expect(r.message).toContain('text chunks: none');
  });

  it('reports foreign metadata: A1111 parameters only, a ComfyUI workflow', () => {
    const a1111 = workflowFromPng(
      withPngText(plain, { parameters: 'a cat\nSteps: 20, Sampler: Euler, Seed: 1' }),
    );
    expect(a1111).toMatchObject({ ok: false, code: 'no_workflow' });
    if (!a1111.ok) expect(a1111.message).toContain('a cat');
    const comfy = workflowFromPng(withPngText(plain, { workflow: '{"nodes":[]}', prompt: '{}' }));
    expect(comfy).toMatchObject({ ok: false, code: 'foreign_workflow' });
  });

  it('rejects non-PNG bytes, broken JSON and documents that fail validation', () => {
    expect(workflowFromPng(Buffer.from('GIF89a....'))).toMatchObject({ ok: false, status: 415 });
    expect(workflowFromPng(withPngText(plain, { [WORKFLOW_PNG_KEYWORD]: '{nope' }))).toMatchObject({
      code: 'corrupt_workflow',
    });
    const bad = { ...workflow, nodes: [{ id: 'n1' }] };
    expect(
      workflowFromPng(withPngText(plain, { [WORKFLOW_PNG_KEYWORD]: JSON.stringify(bad) })),
    ).toMatchObject({
      code: 'invalid_workflow',
    });
    const truncated = withWorkflow(plain).subarray(0, 60);
    expect(workflowFromPng(truncated)).toMatchObject({ ok: false, status: 400, code: 'corrupt_png' });
  });
});

describe('POST /api/workflows/from-image', () => {
  it('accepts a raw PNG body', async () => {
    const res = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(withWorkflow(plain)),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { workflow: typeof workflow };
    expect(body.workflow.meta.name).toBe('dogs');
  });

  it('accepts a multipart upload', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(withWorkflow(plain))], { type: 'image/png' }), 'dog.png');
    const res = await fetch(base, { method: 'POST', body: form });
    expect(res.status).toBe(200);
  });

  it('answers clear 4xx errors', async () => {
    const none = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(plain),
    });
    expect(none.status).toBe(422);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('no_workflow');
    const json = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    const big = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(200 * 1024),
    });
    expect(big.status).toBe(413);
    const empty = await fetch(base, { method: 'POST', headers: { 'content-type': 'image/png' }, body: '' });
    expect(empty.status).toBe(400);
  });
});
