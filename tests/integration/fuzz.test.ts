import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createBuiltinRegistry } from '../../nodes/index.ts';
import { ClientMessage } from '../../server/api/events/clientMessages.ts';
import { ErrorBody } from '../../server/api/http/errors.ts';
import { CreateRunBody } from '../../server/api/runs/runsSchemas.ts';
import type { LoraflowServer } from '../../server/app.ts';
import { loadWorkflow } from '../../server/workflow/load.ts';
import { WorkflowDocument, WorkflowLink, WorkflowNode } from '../../server/workflow/schema.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { listRoutes, routeSpecs, send } from '../security/routeCatalog.ts';
import { nearValid } from '../security/schemaFuzz.ts';
import { EventClient, startTestServer } from './serverHarness.ts';

let tmp: ReturnType<typeof makeTempDir>;
let server: LoraflowServer;

beforeAll(async () => {
  tmp = makeTempDir('loraflow-it-fuzz-');
  server = await startTestServer({ dataDir: tmp.dir });
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

const valid = workflow()
  .node('n', 'test/basic/number', { value: 1 })
  .node('o', 'test/basic/sink')
  .link('n.value', 'o.value')
  .build();

/** Random documents near a valid one: random values swapped in at random places. */
const mutatedWorkflow = fc
  .tuple(
    fc.jsonValue(),
    fc.constantFrom('format', 'version', 'nodes', 'links', 'meta', 'node', 'param', 'link'),
  )
  .map(([value, where]) => {
    const doc = structuredClone(valid) as unknown as Record<string, unknown>;
    const nodes = doc.nodes as Record<string, unknown>[];
    const links = doc.links as Record<string, unknown>[];
    if (where === 'node') nodes[0]!.type = value;
    else if (where === 'param') (nodes[0]!.params as Record<string, unknown>).value = value;
    else if (where === 'link') links[0]!.from = value;
    else doc[where] = value;
    return doc;
  });

async function status(path: string, init: RequestInit): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

describe('bad input never crashes the server', () => {
  it('answers random run requests with 200 or a 4xx JSON error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          mutatedWorkflow.map((workflow) => ({ workflow })),
        ),
        async (body) => {
          const r = await status('/api/runs', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          expect([200, 400], JSON.stringify(r.json)).toContain(r.status);
          if (r.status === 400) {
            expect((r.json as { error: { message: string } }).error.message.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 80, seed: 20261129 },
    );
    await server.queue.idle();
  });

  it('answers random workflow saves and names with a 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 30 }),
        fc.oneof(fc.jsonValue(), mutatedWorkflow),
        async (name, body) => {
          const r = await status(`/api/workflows/${encodeURIComponent(name)}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          expect(r.status, JSON.stringify(r.json)).toBeLessThan(500);
        },
      ),
      { numRuns: 80, seed: 20261129 },
    );
  });

  it('answers random websocket messages with an error message and stays connected', async () => {
    const ws = await EventClient.connect(server.url);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue().map((v) => JSON.stringify(v)),
            fc.string(),
          ),
          async (text) => {
            ws.send(text);
            ws.send({ type: 'ping', id: 'alive' });
            await ws.waitFor((m) => m.type === 'pong');
            ws.messages.length = 0;
          },
        ),
        { numRuns: 80, seed: 20261129 },
      );
    } finally {
      ws.close();
    }
  });
});

/** A 4xx carries the standard error body with a message a person can act on; nothing is ever a 5xx. */
function expectClean(r: { status: number; json: unknown; text: string }, what: string): void {
  expect(r.status, `${what} -> ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
  if (r.status >= 400) {
    const body = ErrorBody.safeParse(r.json);
    expect(body.success, `${what}: error body ${r.text.slice(0, 300)}`).toBe(true);
    if (body.success) expect(body.data.error.message.length, what).toBeGreaterThan(5);
  }
}

describe('every REST route is fuzzed', () => {
  const specs = routeSpecs(valid);

  it('covers every route the server answers (a new route needs an entry in tests/security/routeCatalog.ts)', () => {
    expect(listRoutes(server.http)).toEqual(Object.keys(specs).sort());
  });

  for (const [route, spec] of Object.entries(specs)) {
    it(`${route}: random requests get 2xx/3xx or a 4xx with a clear message`, async () => {
      await fc.assert(
        fc.asyncProperty(spec.fuzz, async (probe) => {
          expectClean(await send(server.url, probe), `${probe.method} ${probe.path}`);
        }),
        { numRuns: 40, seed: 9_006 },
      );
      expect((await fetch(`${server.url}/api/system`)).status).toBe(200);
    });
  }

  it('refuses schema-driven near-valid workflow documents, nodes and links with a 4xx', async () => {
    const node = valid.nodes[0] as unknown as Record<string, unknown>;
    const link = valid.links[0] as unknown as Record<string, unknown>;
    const docs = fc.oneof(
      nearValid(WorkflowDocument, valid as unknown as Record<string, unknown>),
      nearValid(WorkflowNode, node).map((n) => ({ ...valid, nodes: [n, valid.nodes[1]] })),
      nearValid(WorkflowLink, link).map((l) => ({ ...valid, links: [l] })),
    );
    await fc.assert(
      fc.asyncProperty(docs, nearValid(CreateRunBody, { workflow: valid }), async (doc, body) => {
        const sendJson = async (method: string, path: string, b: unknown) =>
          expectClean(
            await send(server.url, {
              method,
              path,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(b),
            }),
            `${method} ${path}`,
          );
        await sendJson('POST', '/api/runs', { workflow: doc });
        await sendJson('POST', '/api/runs', body);
        await sendJson('PUT', '/api/workflows/fuzzed', doc);
      }),
      { numRuns: 60, seed: 9_006 },
    );
    await server.queue.idle();
  });

  it('validates random params of every built-in node into node errors, never an exception', () => {
    const registry = createBuiltinRegistry();
    for (const def of registry.list()) {
      fc.assert(
        fc.property(nearValid(def.params, { __seed: 1 }), (params) => {
          const doc = {
            format: 'loraflow.workflow',
            version: 1,
            nodes: [{ id: 'n', type: def.type, version: def.version, params, position: { x: 0, y: 0 } }],
            links: [],
            meta: { name: 'fuzz', created_with: 'fuzz' },
          };
          const r = loadWorkflow(doc, registry);
          if (r.ok) for (const e of r.nodeErrors) expect(e.message.length, def.type).toBeGreaterThan(5);
          else for (const e of r.errors) expect(e.message.length, def.type).toBeGreaterThan(5);
        }),
        { numRuns: 25, seed: 9_006 },
      );
    }
  });
});

describe('every websocket client message is fuzzed', () => {
  it('answers schema-driven near-valid messages of every type with a reply or an error, and stays up', async () => {
    const ws = await EventClient.connect(server.url);
    try {
      const messages = fc.oneof(
        ...ClientMessage.options.map((o) => nearValid(o, { type: o.shape.type.value })),
        nearValid(ClientMessage.options[0], { type: 'unknown' }),
      );
      await fc.assert(
        fc.asyncProperty(messages, async (msg) => {
          ws.messages.length = 0;
          ws.send(JSON.stringify(msg));
          const parsed = ClientMessage.safeParse(msg);
          if (!parsed.success) {
            const err = await ws.waitFor((m) => m.type === 'error');
            expect(err.type === 'error' && err.message.length).toBeGreaterThan(5);
          }
          ws.send({ type: 'subscribe' });
          ws.send({ type: 'ping', id: 'alive' });
          await ws.waitFor((m) => m.type === 'pong');
        }),
        { numRuns: 80, seed: 9_006 },
      );
      ws.ws.send(Buffer.from([0xff, 0x00, 0x13]), { binary: true });
      expect((await ws.waitFor((m) => m.type === 'error')).type).toBe('error');
    } finally {
      ws.close();
    }
  });

  it('closes a client that sends an oversized frame, and keeps serving the others', async () => {
    const bystander = await EventClient.connect(server.url);
    const raw = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/events`);
    await new Promise((resolve) => raw.once('open', resolve));
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    raw.on('error', () => {});
    raw.send(JSON.stringify({ type: 'ping', id: 'x'.repeat(64 * 1024) }));
    expect(await closed).toBe(1009);
    bystander.messages.length = 0;
    bystander.send({ type: 'ping', id: 'still-here' });
    expect((await bystander.waitFor((m) => m.type === 'pong')).type).toBe('pong');
    bystander.close();
  });
});
