import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraflowServer } from '../../server/app.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient, postRun, startTestServer } from './serverHarness.ts';

const TOKEN = 'correct-horse-battery-staple';
let tmp: ReturnType<typeof makeTempDir>;
let server: LoraflowServer;

beforeAll(async () => {
  tmp = makeTempDir('loraflow-it-auth-');
  server = await startTestServer({ dataDir: tmp.dir, token: TOKEN });
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

describe('token', () => {
  it('is required by every HTTP route when set', async () => {
    for (const path of [
      '/api/nodes',
      '/api/runs',
      '/api/system',
      '/api/workflows',
      `/api/artifacts/${'a'.repeat(64)}`,
      '/',
    ]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const wrong = await fetch(`${server.url}/api/nodes`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${server.url}/api/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect((await fetch(`${server.url}/api/runs?token=${TOKEN}`)).status).toBe(200);
    const { status } = await postRun(
      server.url,
      workflow()
        .node('n', 'test/basic/number')
        .node('o', 'test/basic/sink')
        .link('n.value', 'o.value')
        .build(),
      { token: TOKEN },
    );
    expect(status).toBe(200);
  });

  it('moves a ?token= page visit into an HttpOnly cookie that then authenticates', async () => {
    const res = await fetch(`${server.url}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/loraflow_token=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const withCookie = await fetch(`${server.url}/api/system`, {
      headers: { cookie: cookie.split(';')[0]! },
    });
    expect(withCookie.status).toBe(200);
    expect(((await withCookie.json()) as { auth: { tokenRequired: boolean } }).auth.tokenRequired).toBe(true);
  });

  it('is required by the websocket', async () => {
    await expect(EventClient.connect(server.url)).rejects.toThrow(/401/);
    await expect(EventClient.connect(server.url, { token: 'wrong' })).rejects.toThrow(/401/);
    const ws = await EventClient.connect(server.url, { token: TOKEN });
    expect((await ws.waitFor((m) => m.type === 'snapshot')).type).toBe('snapshot');
    ws.close();
  });

  it('keeps CORS closed and refuses foreign origins', async () => {
    const res = await fetch(`${server.url}/api/nodes`, {
      headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${server.url}/api/runs`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const post = await fetch(`${server.url}/api/runs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        origin: 'https://evil.example',
        'content-type': 'application/json',
      },
      body: '{}',
    });
    expect(post.status).toBe(403);
    await expect(
      EventClient.connect(server.url, { token: TOKEN, origin: 'https://evil.example' }),
    ).rejects.toThrow(/403/);
  });

  it('sends a strict Content-Security-Policy', async () => {
    const res = await fetch(`${server.url}/api/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('binding', () => {
  it('refuses to listen beyond loopback without a token', async () => {
    const other = makeTempDir('loraflow-it-bind-');
    try {
      await expect(startTestServer({ dataDir: other.dir, host: '0.0.0.0' })).rejects.toThrow(
        /without a token/,
      );
    } finally {
      other.cleanup();
    }
  });
});

describe('without a token', () => {
  it('serves loopback host names only (DNS rebinding)', async () => {
    const other = makeTempDir('loraflow-it-host-');
    const s = await startTestServer({ dataDir: other.dir });
    try {
      const port = new URL(s.url).port;
      const { request } = await import('node:http');
      const status = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const r = request({ host: '127.0.0.1', port, path: '/api/nodes', headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          r.on('error', reject);
          r.end();
        });
      expect(await status(`localhost:${port}`)).toBe(200);
      expect(await status(`rebind.evil.example:${port}`)).toBe(403);
    } finally {
      await s.close();
      other.cleanup();
    }
  });
});
