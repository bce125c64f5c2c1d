import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../../nodes/index.ts';
import { FakeSamplingEngine } from '../../nodes/sample/testing/fakeEngine.ts';
import type { AnyNodeDefinition } from '../../nodes/sdk/defineNode.ts';
import type { ImagesValue, LoraValue } from '../../nodes/sdk/values.ts';
import { WorkflowName } from '../../server/api/workflows/workflowName.ts';
import { type LoraflowServer, startServer } from '../../server/app.ts';
import { loadConfig } from '../../server/config/config.ts';
import { createRoots, type Roots } from '../../server/fs/roots.ts';
import { createNodeTestContext, type NodeTestContext, runNodeForTest } from '../helpers/nodeTestContext.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { createTestRegistry } from '../helpers/testNodes.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient } from '../integration/serverHarness.ts';
import { send } from './routeCatalog.ts';

const SECRET = 'TOP-SECRET-CONTENT-0xC0FFEE';
let tmp: ReturnType<typeof makeTempDir>;
let base: string;
let outside: string;
let server: LoraflowServer;

/** Every file under a folder with its size and mtime, to prove nothing outside the roots changed. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Traversal attempts as a user would type them into a param or a URL: `..`, absolute paths, symlinks that lead
 * out, percent-encoded and double-encoded dots and slashes, NUL bytes, Windows separators and drives.
 */
function hostilePaths(): string[] {
  return [
    '..',
    '../outside',
    '../outside/secret.txt',
    'sub/../../outside',
    '../../../../../../etc/passwd',
    '/etc/passwd',
    join(outside, 'secret.txt'),
    outside,
    'link-out',
    'link-out/secret.txt',
    '..\\outside',
    'sub\\..\\..\\outside',
    'C:\\Windows\\win.ini',
    'C:/Windows',
    '\\\\server\\share',
    'sub/\u0000/../../outside',
    'secret.txt\u0000.png',
  ];
}

/**
 * Names that only look like traversal once decoded again or normalised (percent signs, Unicode dot
 * look-alikes). They are literal names: refused or created inside the root, never a way out.
 */
function literalLookalikes(): string[] {
  return [
    '%2e%2e/outside',
    '%2e%2e%2foutside',
    '%252e%252e%252foutside',
    '..%2foutside',
    '.\u2024/outside',
    '\uff0e\uff0e/outside',
  ];
}

beforeAll(async () => {
  tmp = makeTempDir('loraflow-sec-paths-');
  base = tmp.dir;
  outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(join(outside, 'model.safetensors'), SECRET);
  writeFileSync(
    join(outside, 'a.png'),
    await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
      .png()
      .toBuffer(),
  );
  for (const d of ['roots/datasets/sub', 'roots/models/sub', 'roots/outputs/sub'])
    mkdirSync(join(base, d), { recursive: true });
  for (const d of ['datasets', 'models', 'outputs']) symlinkSync(outside, join(base, 'roots', d, 'link-out'));
  writeFileSync(
    join(base, 'loraflow.config.json'),
    JSON.stringify({
      roots: { dataset: ['roots/datasets'], model: ['roots/models'], output: 'roots/outputs' },
    }),
  );
  const dist = join(base, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>editor</title>');
  const config = loadConfig({ cwd: base, env: {}, overrides: { dataDir: join(base, 'data'), port: 0 } });
  server = await startServer({ config, registry: createTestRegistry(), clientDist: dist, engine: false });
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

/** The path as sent: encoded once (what a client library does), and raw (what an attacker types). */
function asSent(p: string): string[] {
  return [encodeURIComponent(p), p.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c))];
}

describe('HTTP endpoints never reach outside the roots', () => {
  it('GET /api/files refuses every traversal in `path` for every root', async () => {
    const before = snapshot(outside);
    for (const root of ['dataset', 'model', 'output']) {
      for (const p of hostilePaths()) {
        for (const q of asSent(p)) {
          const r = await send(server.url, { method: 'GET', path: `/api/files?root=${root}&path=${q}` });
          expect([400, 403, 404], `${root} ${JSON.stringify(p)} -> ${r.status} ${r.text}`).toContain(
            r.status,
          );
          expect(r.json, 'no listing').not.toHaveProperty('entries');
        }
      }
    }
    expect(snapshot(outside)).toEqual(before);
  });

  it('POST /api/upload refuses every traversal in its target folder and writes nothing outside', async () => {
    const before = snapshot(outside);
    const png = readFileSync(join(outside, 'a.png'));
    for (const p of [...hostilePaths(), ...literalLookalikes()]) {
      for (const q of asSent(p)) {
        const fd = new FormData();
        fd.append('files', new Blob([new Uint8Array(png)]), 'evil.png');
        const res = await fetch(`${server.url}/api/upload?path=${q}`, { method: 'POST', body: fd });
        const text = await res.text();
        // A double-encoded name is a literal folder name inside the root: allowed, and it stays inside.
        if (res.status === 200) {
          const saved = (JSON.parse(text) as { saved: { path: string }[] }).saved;
          for (const s of saved) expect(s.path.split('/'), s.path).not.toContain('..');
        } else {
          expect([400, 403], `${JSON.stringify(p)} -> ${res.status} ${text}`).toContain(res.status);
        }
      }
    }
    expect(snapshot(outside)).toEqual(before);
  });

  it('file names in uploads cannot climb out either', async () => {
    const png = readFileSync(join(outside, 'a.png'));
    const fd = new FormData();
    for (const name of ['../../../outside/x.png', '..\\..\\outside\\y.png', '/abs/z.png', 'link-out/w.png']) {
      fd.append('files', new Blob([new Uint8Array(png)]), name);
    }
    const before = snapshot(outside);
    const res = await fetch(`${server.url}/api/upload?path=sub`, { method: 'POST', body: fd });
    expect(res.status).toBe(200);
    const saved = ((await res.json()) as { saved: { path: string }[] }).saved.map((s) => s.path).sort();
    expect(saved).toEqual(['sub/w.png', 'sub/x.png', 'sub/y.png', 'sub/z.png']);
    expect(snapshot(outside)).toEqual(before);
  });

  it('workflow names, artifact hashes and run ids with traversal are refused, and nothing outside is read, written or deleted', async () => {
    const before = snapshot(outside);
    const doc = workflow()
      .node('n', 'test/basic/number')
      .node('o', 'test/basic/sink')
      .link('n.value', 'o.value')
      .build();
    for (const p of [
      ...hostilePaths(),
      ...literalLookalikes(),
      '../outside/secret',
      '../../outside/secret.txt',
    ]) {
      for (const seg of asSent(p)) {
        for (const probe of [
          { method: 'GET', path: `/api/workflows/${seg}` },
          { method: 'GET', path: `/api/workflows/${seg}?source=template` },
          { method: 'DELETE', path: `/api/workflows/${seg}` },
          {
            method: 'PUT',
            path: `/api/workflows/${seg}`,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(doc),
          },
          { method: 'GET', path: `/api/artifacts/${seg}` },
          { method: 'GET', path: `/api/artifacts/${seg}/thumbnail` },
          { method: 'GET', path: `/api/runs/${seg}` },
          { method: 'GET', path: `/api/runs/${seg}/events` },
          { method: 'POST', path: `/api/runs/${seg}/cancel` },
        ]) {
          const r = await send(server.url, probe);
          // A name that is a valid workflow name (e.g. `link-out`) is just a file in the workflows folder.
          const allowed = WorkflowName.safeParse(p).success ? [200, 204, 400, 404] : [400, 404];
          expect(allowed, `${probe.method} ${probe.path} -> ${r.status} ${r.text}`).toContain(r.status);
          expect(r.text).not.toContain(SECRET);
        }
      }
    }
    expect(snapshot(outside)).toEqual(before);
    const saved = readdirSync(join(base, 'data', 'workflows'));
    for (const f of saved) expect(f).toMatch(/^[A-Za-z0-9][A-Za-z0-9 _.-]*\.json$/);
  });

  it('the editor’s static files cannot be used to read outside its folder', async () => {
    for (const p of [
      '/../outside/secret.txt',
      '/..%2f..%2foutside%2fsecret.txt',
      '/assets/..%2f..%2f..%2foutside%2fsecret.txt',
      '/%2e%2e/%2e%2e/outside/secret.txt',
      '/%252e%252e/outside/secret.txt',
      '/..\\..\\outside\\secret.txt',
      `/${encodeURIComponent(join(outside, 'secret.txt'))}`,
      '/assets/%00../../outside/secret.txt',
    ]) {
      const r = await send(server.url, { method: 'GET', path: p, headers: { accept: 'text/html' } });
      expect(r.status, p).toBeLessThan(500);
      expect(r.text, p).not.toContain(SECRET);
    }
  });
});

/** Minimal real inputs for nodes that need an upstream value before they touch their path param. */
async function inputsFor(def: AnyNodeDefinition, t: NodeTestContext): Promise<Record<string, unknown>> {
  const png = readFileSync(join(outside, 'a.png'));
  const hash = await t.store.put(png);
  const images: ImagesValue = {
    kind: 'images',
    items: [{ hash, width: 4, height: 4, format: 'png', caption: 'x', repeats: 1, regularization: false }],
  };
  const lora: LoraValue = {
    kind: 'lora',
    hash: await t.store.put(Buffer.from('lora bytes')),
    name: 'l',
    metadata: {},
  };
  const out: Record<string, unknown> = {};
  for (const [name, socket] of Object.entries(def.inputs as Record<string, { type: string }>)) {
    if (socket.type === 'IMAGES') out[name] = images;
    else if (socket.type === 'LORA') out[name] = lora;
  }
  return out;
}

describe('workflow params that name files stay inside their roots', () => {
  const registry = createBuiltinRegistry();
  /** Every param with a root (a file or folder picker), from the nodes' own zod schemas. */
  const pathParams = registry.describe().nodes.flatMap((n) =>
    Object.entries(
      (n.params as { properties?: Record<string, { ui?: { root?: string }; type?: string }> }).properties ??
        {},
    )
      .filter(([, s]) => s.ui?.root !== undefined)
      .map(([param, s]) => ({ type: n.type, title: n.title, param, root: s.ui!.root! })),
  );

  it('knows every path param (a new one is covered automatically; names that look like paths must have a root)', () => {
    expect(pathParams.map((p) => `${p.type}.${p.param}`).sort()).toEqual([
      'loraflow/caption/blip.model',
      'loraflow/caption/wd14-tagger.model',
      'loraflow/dataset/load-images.folder',
      'loraflow/model/load-checkpoint.file',
      'loraflow/model/load-lora.file',
      'loraflow/save/dataset.folder',
      'loraflow/save/images.folder',
      'loraflow/save/lora.folder',
    ]);
    for (const n of registry.describe().nodes) {
      const props =
        (n.params as { properties?: Record<string, { ui?: { root?: string }; type?: string }> }).properties ??
        {};
      for (const [name, s] of Object.entries(props)) {
        if (s.type === 'string' && /(^|_)(path|dir|directory|file|folder)s?$/i.test(name)) {
          expect(s.ui?.root, `${n.type}.${name} looks like a path but has no root`).toBeDefined();
        }
      }
    }
  });

  it.each(
    createBuiltinRegistry()
      .describe()
      .nodes.flatMap((n) =>
        Object.entries(
          (n.params as { properties?: Record<string, { ui?: { root?: string } }> }).properties ?? {},
        )
          .filter(([, s]) => s.ui?.root !== undefined)
          .map(([param]) => [n.type, param] as const),
      ),
  )('%s refuses every outside value of %s with an error naming the node', async (type, param) => {
    const def = registry.get(type)!;
    const engine = new FakeSamplingEngine();
    const roots: Roots = createRoots({
      dataset: [join(base, 'roots/datasets')],
      model: [join(base, 'roots/models')],
      output: join(base, 'roots/outputs'),
    });
    const t = createNodeTestContext({
      dataDir: join(base, `node-${type.replace(/\W/g, '_')}`),
      services: { roots, engine, workflow: { version: 1, nodes: [] } },
    });
    try {
      const inputs = await inputsFor(def, t);
      const before = snapshot(outside);
      for (const p of hostilePaths()) {
        const params = { [param]: p, ...(type === 'loraflow/save/dataset' ? { root: 'output' } : {}) };
        await expect(
          runNodeForTest(def, t, inputs, params),
          `${type}.${param} = ${JSON.stringify(p)}`,
        ).rejects.toThrow(new RegExp(def.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      }
      for (const p of literalLookalikes()) {
        const params = { [param]: p, ...(type === 'loraflow/save/dataset' ? { root: 'output' } : {}) };
        await runNodeForTest(def, t, inputs, params).catch(() => {});
      }
      expect(snapshot(outside)).toEqual(before);
      for (const c of engine.calls) expect(String(c.args.path).startsWith(join(base, 'roots'))).toBe(true);
    } finally {
      t.close();
    }
  });

  it('a shared workflow whose Load Images folder points outside fails that node through the server, naming it', async () => {
    const s = await startServer({
      config: loadConfig({ cwd: base, env: {}, overrides: { dataDir: join(base, 'data-builtin'), port: 0 } }),
      registry: createBuiltinRegistry(),
      clientDist: null,
      engine: false,
    });
    const ws = await EventClient.connect(s.url);
    try {
      const doc = workflow()
        .node('load', 'loraflow/dataset/load-images', { folder: '../../outside' })
        .node('save', 'loraflow/save/images', { folder: '../../outside' })
        .link('load.images', 'save.images')
        .build();
      const res = await send(s.url, {
        method: 'POST',
        path: '/api/runs',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workflow: doc }),
      });
      expect(res.status, res.text).toBe(200);
      const runId = (res.json as { runId: string }).runId;
      const end = await ws.runEnd(runId);
      expect(end.type).toBe('run.failed');
      if (end.type === 'run.failed') expect(end.error).toMatch(/Load Images.*\.\./);
      expect(readdirSync(outside).sort()).toEqual(['a.png', 'model.safetensors', 'secret.txt']);
    } finally {
      ws.close();
      await s.close();
    }
  });
});
