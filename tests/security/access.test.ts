import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoraflowServer, startServer } from '../../server/app.ts';
import { DEFAULT_HOST, loadConfig } from '../../server/config/config.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { createTestRegistry } from '../helpers/testNodes.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient } from '../integration/serverHarness.ts';
import { listRoutes, type Probe, routeSpecs, send } from './routeCatalog.ts';

const TOKEN = 'a-long-enough-test-token-9';
let tmp: ReturnType<typeof makeTempDir>;
let server: LoraflowServer;

const valid = workflow()
  .node('n', 'test/basic/number', { value: 1 })
  .node('o', 'test/basic/sink')
  .link('n.value', 'o.value')
  .build();

/** A built editor (index.html + a hashed asset), so the client's own responses are covered too. */
function makeClientDist(dir: string): string {
  const dist = join(dir, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(
    join(dist, 'index.html'),
    '<!doctype html><script type="module" src="/assets/app-1.js"></script>',
  );
  writeFileSync(join(dist, 'assets', 'app-1.js'), 'console.log(1)');
  return dist;
}

async function start(o: { token?: string; host?: string; clientDist?: string }): Promise<LoraflowServer> {
  const dataDir = join(tmp.dir, `d${Math.random().toString(36).slice(2)}`);
  const config = loadConfig({
    cwd: tmp.dir,
    env: {},
    overrides: {
      dataDir,
      port: 0,
      ...(o.host ? { host: o.host } : {}),
      ...(o.token ? { token: o.token } : {}),
    },
  });
  return startServer({
    config,
    registry: createTestRegistry(),
    clientDist: o.clientDist ?? null,
    engine: false,
  });
}

/** Every route's sample request plus the editor's pages and assets. */
function probes(): [string, Probe][] {
  const specs = routeSpecs(valid);
  // The editor's catch-all page route is covered by the editor probes below.
  expect(listRoutes(server.http).filter((r) => / \/api\//.test(r))).toEqual(Object.keys(specs).sort());
  return [
    ...Object.entries(specs).map(([route, s]): [string, Probe] => [route, s.sample]),
    ['GET / (editor)', { method: 'GET', path: '/', headers: { accept: 'text/html' } }],
    ['GET /assets (editor)', { method: 'GET', path: '/assets/app-1.js' }],
    ['GET /some/client/route', { method: 'GET', path: '/runs/42', headers: { accept: 'text/html' } }],
    ['GET /api/unknown', { method: 'GET', path: '/api/unknown' }],
  ];
}

beforeAll(async () => {
  tmp = makeTempDir('loraflow-sec-access-');
  server = await start({ token: TOKEN, clientDist: makeClientDist(tmp.dir) });
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

describe('with a token, every HTTP route and the websocket require it', () => {
  it('answers 401 to every route without a token, with a wrong one, and with a near-miss', async () => {
    const wrongs: [string, Record<string, string>, string][] = [
      ['none', {}, ''],
      ['wrong bearer', { authorization: 'Bearer wrong-token' }, ''],
      ['prefix bearer', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, ''],
      ['longer bearer', { authorization: `Bearer ${TOKEN}x` }, ''],
      ['wrong cookie', { cookie: 'loraflow_token=wrong' }, ''],
      ['basic auth', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }, ''],
      ['wrong query', {}, 'token=wrong'],
      ['empty query', {}, 'token='],
    ];
    for (const [route, probe] of probes()) {
      for (const [why, headers, query] of wrongs) {
        const path = query ? `${probe.path}${probe.path.includes('?') ? '&' : '?'}${query}` : probe.path;
        const r = await send(server.url, { ...probe, path }, headers);
        expect(r.status, `${route} with ${why}`).toBe(401);
        expect((r.json as { error: { code: string } }).error.code).toBe('unauthorized');
      }
    }
  });

  it('lets every route through with the right token (header, query or cookie)', async () => {
    for (const [route, probe] of probes()) {
      const auths: Record<string, string>[] = [
        { authorization: `Bearer ${TOKEN}` },
        { cookie: `loraflow_token=${encodeURIComponent(TOKEN)}` },
      ];
      for (const auth of auths) {
        const r = await send(server.url, probe, auth);
        expect(r.status, `${route}: ${r.text.slice(0, 200)}`).not.toBe(401);
        expect(r.status, route).toBeLessThan(500);
      }
      if (probe.method === 'GET' && !probe.path.startsWith('/api/')) continue; // pages move ?token= into a cookie
      const sep = probe.path.includes('?') ? '&' : '?';
      const r = await send(server.url, { ...probe, path: `${probe.path}${sep}token=${TOKEN}` });
      expect(r.status, route).not.toBe(401);
    }
    await server.queue.idle();
  });

  it('refuses the websocket without the right token, and accepts it with the token', async () => {
    await expect(EventClient.connect(server.url)).rejects.toThrow(/401/);
    await expect(EventClient.connect(server.url, { token: `${TOKEN}x` })).rejects.toThrow(/401/);
    const ws = await EventClient.connect(server.url, { token: TOKEN });
    expect((await ws.waitFor((m) => m.type === 'snapshot')).type).toBe('snapshot');
    ws.close();
  });
});

describe('CORS stays closed and pages are locked down', () => {
  const evil = 'https://evil.example';

  it('sends no CORS header on any route, answers no preflight, and refuses foreign origins that change state', async () => {
    for (const [route, probe] of probes()) {
      const r = await send(server.url, probe, { authorization: `Bearer ${TOKEN}`, origin: evil });
      for (const h of ['access-control-allow-origin', 'access-control-allow-credentials']) {
        expect(r.headers.get(h), `${route} ${h}`).toBeNull();
      }
      if (probe.method !== 'GET') expect(r.status, route).toBe(403);
      const pre = await send(
        server.url,
        { method: 'OPTIONS', path: probe.path.split('?')[0]! },
        {
          origin: evil,
          'access-control-request-method': probe.method,
          'access-control-request-headers': 'authorization',
        },
      );
      expect(pre.headers.get('access-control-allow-origin'), route).toBeNull();
      expect(pre.headers.get('access-control-allow-methods'), route).toBeNull();
    }
    await expect(EventClient.connect(server.url, { token: TOKEN, origin: evil })).rejects.toThrow(/403/);
  });

  it('puts a strict Content-Security-Policy on every response, the editor page included', async () => {
    for (const [route, probe] of probes()) {
      const auths: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN}` }];
      for (const auth of auths) {
        const r = await send(server.url, probe, auth);
        const csp = r.headers.get('content-security-policy') ?? '';
        expect(csp, route).toContain("default-src 'self'");
        expect(csp, route).toMatch(/script-src 'self'(;|$)/);
        expect(csp, route).toContain("object-src 'none'");
        expect(csp, route).toContain("frame-ancestors 'none'");
        expect(csp, route).toContain("base-uri 'none'");
        expect(r.headers.get('x-content-type-options'), route).toBe('nosniff');
        expect(r.headers.get('x-frame-options'), route).toBe('DENY');
      }
    }
    const page = await send(
      server.url,
      { method: 'GET', path: '/', headers: { accept: 'text/html' } },
      {
        authorization: `Bearer ${TOKEN}`,
      },
    );
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script type="module"');
  });
});

describe('binding', () => {
  it('binds 127.0.0.1 by default', async () => {
    expect(loadConfig({ cwd: tmp.dir, env: {} }).host).toBe('127.0.0.1');
    expect(DEFAULT_HOST).toBe('127.0.0.1');
    const s = await start({});
    try {
      expect(s.host).toBe('127.0.0.1');
    } finally {
      await s.close();
    }
  });

  it('refuses every non-loopback address without a token, and listens on one with a token', async () => {
    for (const host of ['0.0.0.0', '::']) {
      await expect(start({ host })).rejects.toThrow(/refusing to listen on .* without a token/);
    }
    const open = await start({ host: '0.0.0.0', token: TOKEN });
    try {
      const port = new URL(open.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/api/nodes`)).status).toBe(401);
      expect(
        (await fetch(`http://127.0.0.1:${port}/api/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } }))
          .status,
      ).toBe(200);
    } finally {
      await open.close();
    }
  });
});
