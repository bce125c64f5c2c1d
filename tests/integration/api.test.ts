import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraflowServer } from '../../server/app.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { getJson, startTestServer } from './serverHarness.ts';

let tmp: ReturnType<typeof makeTempDir>;
let server: LoraflowServer;

beforeAll(async () => {
  tmp = makeTempDir('loraflow-it-api-');
  server = await startTestServer({ dataDir: tmp.dir });
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

// Smallest valid PNG: 1x1 transparent pixel.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

describe('API', () => {
  it('describes node types with JSON Schema params and socket colours', async () => {
    const d = await getJson<{
      sockets: Record<string, { color: string }>;
      nodes: { type: string; params: { properties: Record<string, unknown> } }[];
    }>(server.url, '/api/nodes');
    expect(d.sockets.IMAGES?.color).toMatch(/^#/);
    const num = d.nodes.find((n) => n.type === 'test/basic/number');
    expect(num?.params.properties.value).toMatchObject({
      type: 'number',
      minimum: -1e9,
      maximum: 1e9,
      default: 0,
    });
  });

  it('serves artifacts from the store only, with their type and immutable caching', async () => {
    const png = await server.store.put(PNG);
    const res = await fetch(`${server.url}/api/artifacts/${png}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).toBe(`"${png}"`);
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
    const again = await fetch(`${server.url}/api/artifacts/${png}`, {
      headers: { 'if-none-match': `"${png}"` },
    });
    expect(again.status).toBe(304);

    const blob = await server.store.put(new TextEncoder().encode('<script>alert(1)</script>'), {
      contentType: 'text/html',
    });
    const html = await fetch(`${server.url}/api/artifacts/${blob}`);
    expect(html.headers.get('content-disposition')).toMatch(/^attachment/);
    const raw = await server.store.put(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
    expect((await fetch(`${server.url}/api/artifacts/${raw}`)).headers.get('content-type')).toBe(
      'application/octet-stream',
    );

    expect((await fetch(`${server.url}/api/artifacts/${'0'.repeat(64)}`)).status).toBe(404);
    for (const bad of ['abc', 'G'.repeat(64), '..%2F..%2Fetc%2Fpasswd', `${png.toUpperCase()}`]) {
      expect((await fetch(`${server.url}/api/artifacts/${bad}`)).status, bad).toBe(400);
    }
  });

  it('serves thumbnails of image artifacts, made on first request', async () => {
    const sharp = (await import('sharp')).default;
    const big = await sharp({ create: { width: 600, height: 300, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const hash = await server.store.put(big);
    const res = await fetch(`${server.url}/api/artifacts/${hash}/thumbnail`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(new RegExp(`^"${hash}\\.[0-9a-f]{64}"$`));
    expect(await sharp(Buffer.from(await res.arrayBuffer())).metadata()).toMatchObject({
      width: 160,
      height: 80,
    });
    const again = await fetch(`${server.url}/api/artifacts/${hash}/thumbnail`, {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);

    const text = await server.store.put(new TextEncoder().encode('plain text'));
    const refused = await fetch(`${server.url}/api/artifacts/${text}/thumbnail`);
    expect(refused.status).toBe(415);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('not_an_image');
    expect((await fetch(`${server.url}/api/artifacts/${'0'.repeat(64)}/thumbnail`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/artifacts/abc/thumbnail`)).status).toBe(400);
  });

  it('reports system information without an engine', async () => {
    const info = await getJson<{
      versions: { loraflow: string; node: string };
      engine: { status: string };
      data: { dir: string; artifacts: { count: number } };
      queue: { queued: number; running: number };
    }>(server.url, '/api/system');
    expect(info.versions.node).toBe(process.version);
    expect(['ok', 'missing', 'error']).toContain(info.engine.status);
    expect(info.data.dir).toBe(tmp.dir);
    expect(info.queue).toEqual({ queued: 0, running: 0 });
  });

  it('saves and lists workflows next to read-only templates', async () => {
    const doc = workflow().node('n', 'test/basic/number').build('saved one');
    const put = await fetch(`${server.url}/api/workflows/My%20flow`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(doc),
    });
    expect(put.status).toBe(200);
    const list = await getJson<{ workflows: { name: string; source: string }[] }>(
      server.url,
      '/api/workflows',
    );
    expect(list.workflows).toContainEqual(expect.objectContaining({ name: 'My flow', source: 'saved' }));
    const got = await getJson<{ workflow: { meta: { name: string } } }>(
      server.url,
      '/api/workflows/My%20flow',
    );
    expect(got.workflow.meta.name).toBe('saved one');
    const bad = await fetch(`${server.url}/api/workflows/x`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'something else' }),
    });
    expect(bad.status).toBe(400);
  });

  it('serves the built editor with an SPA fallback when client/dist exists', async () => {
    const dist = join(tmp.dir, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>loraflow</title>');
    writeFileSync(join(dist, 'assets', 'app-123.js'), 'console.log(1)');
    const { startServer } = await import('../../server/app.ts');
    const { loadConfig } = await import('../../server/config/config.ts');
    const { createTestRegistry } = await import('../helpers/testNodes.ts');
    const other = makeTempDir('loraflow-it-static-');
    const s = await startServer({
      config: loadConfig({ cwd: other.dir, env: {}, overrides: { dataDir: other.dir, port: 0 } }),
      registry: createTestRegistry(),
      clientDist: dist,
    });
    try {
      const index = await fetch(`${s.url}/some/editor/route`, { headers: { accept: 'text/html' } });
      expect(index.status).toBe(200);
      expect(await index.text()).toContain('<title>loraflow</title>');
      expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
      const asset = await fetch(`${s.url}/assets/app-123.js`);
      expect(asset.headers.get('cache-control')).toContain('immutable');
      expect((await fetch(`${s.url}/api/unknown`, { headers: { accept: 'text/html' } })).status).toBe(404);
    } finally {
      await s.close();
      other.cleanup();
    }
  });
});
