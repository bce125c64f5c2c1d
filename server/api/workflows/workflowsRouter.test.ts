import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../http/errors.ts';
import { WorkflowFiles } from './workflowFiles.ts';
import { workflowsRouter } from './workflowsRouter.ts';

let dir: string;
let server: Server;
let base: string;

const doc = (name: string) => ({
  format: 'loraflow.workflow',
  version: 1,
  nodes: [],
  links: [],
  meta: { name },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loraflow-wf-'));
  mkdirSync(join(dir, 'templates'));
  writeFileSync(join(dir, 'templates', 'Starter.json'), JSON.stringify(doc('Starter template')));
  const files = new WorkflowFiles(join(dir, 'templates'), join(dir, 'saved'));
  const app = express();
  app.use(
    workflowsRouter(files, (body) =>
      (body as { format?: unknown }).format === 'loraflow.workflow'
        ? { ok: true, document: body }
        : { ok: false, message: 'not a loraflow workflow' },
    ),
  );
  app.use(errorHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const put = (name: string, body: unknown) =>
  fetch(`${base}/api/workflows/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('workflow files API', () => {
  it('saves, lists, reads and deletes a workflow', async () => {
    expect((await put('My flow', doc('mine'))).status).toBe(200);
    expect(readdirSync(join(dir, 'saved'))).toEqual(['My flow.json']);
    expect(JSON.parse(readFileSync(join(dir, 'saved', 'My flow.json'), 'utf8')).meta.name).toBe('mine');

    const list = await (await fetch(`${base}/api/workflows`)).json();
    expect(list.workflows.map((w: { name: string; source: string }) => `${w.source}:${w.name}`)).toEqual([
      'template:Starter',
      'saved:My flow',
    ]);
    expect(list.workflows[0]).toMatchObject({ readOnly: true, title: 'Starter template' });

    const got = await (await fetch(`${base}/api/workflows/My%20flow.json`)).json();
    expect(got).toMatchObject({
      name: 'My flow',
      source: 'saved',
      readOnly: false,
      workflow: { meta: { name: 'mine' } },
    });

    expect((await fetch(`${base}/api/workflows/My%20flow`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${base}/api/workflows/My%20flow`)).status).toBe(404);
    expect((await fetch(`${base}/api/workflows/My%20flow`, { method: 'DELETE' })).status).toBe(404);
  });

  it('never overwrites or deletes a template', async () => {
    const r = await put('Starter', doc('overwrite'));
    expect(r.status).toBe(409);
    expect((await r.json()).error.code).toBe('template_read_only');
    expect((await fetch(`${base}/api/workflows/Starter`, { method: 'DELETE' })).status).toBe(409);
    const got = await (await fetch(`${base}/api/workflows/Starter`)).json();
    expect(got.workflow.meta.name).toBe('Starter template');
  });

  it('refuses bad names, bad bodies and oversized bodies with JSON errors', async () => {
    for (const name of ['..', '.hidden', '../etc/passwd', 'a/b', 'x'.repeat(102), 'semi;colon']) {
      const r = await put(name, doc('x'));
      expect(r.status, name).toBeGreaterThanOrEqual(400);
      expect(r.status, name).toBeLessThan(500);
    }
    const bad = await put('ok name', { hello: 1 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({
      code: 'invalid_workflow',
      message: 'not a loraflow workflow',
    });
    const notJson = await fetch(`${base}/api/workflows/x`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('invalid_json');
    const huge = await put('big', { ...doc('x'), pad: 'x'.repeat(11 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(readdirSync(join(dir, 'saved'))).toEqual([]);
  });
});
