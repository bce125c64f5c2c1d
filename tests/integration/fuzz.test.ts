import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraflowServer } from '../../server/app.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
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
