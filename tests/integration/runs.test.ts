import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../server/api/events/serverMessages.ts';
import type { LoraflowServer } from '../../server/app.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient, getJson, postRun, startTestServer } from './serverHarness.ts';

let tmp: ReturnType<typeof makeTempDir>;
let server: LoraflowServer;
let ws: EventClient;

beforeAll(async () => {
  tmp = makeTempDir('loraflow-it-runs-');
  server = await startTestServer({ dataDir: tmp.dir });
  ws = await EventClient.connect(server.url);
});
afterAll(async () => {
  ws.close();
  await server.close();
  tmp.cleanup();
});

/** a(2) → add(+offset) → out; a is also summed into b's add with a literal 10. */
const chain = (offset: number) =>
  workflow()
    .node('a', 'test/basic/number', { value: 2 })
    .node('ten', 'test/basic/number', { value: 10 })
    .node('add', 'test/basic/add', { offset })
    .node('out', 'test/basic/sink', { label: 'result' })
    .link('a.value', 'add.a')
    .link('ten.value', 'add.b')
    .link('add.sum', 'out.value')
    .build('chain');

const nodeEvents = (msgs: ServerMessage[]) =>
  msgs
    .filter((m) => m.type.startsWith('node.') && m.type !== 'node.progress')
    .map((m) => `${m.type} ${'nodeId' in m ? m.nodeId : ''}`);

async function runToEnd(doc: unknown, outputs?: string[]) {
  const { status, body } = await postRun(server.url, doc, outputs ? { outputs } : {});
  expect(status, JSON.stringify(body)).toBe(200);
  const runId = body.runId!;
  const end = await ws.runEnd(runId);
  return { runId, end, messages: ws.forRun(runId) };
}

describe('runs over HTTP and websocket', () => {
  it('sends a snapshot on connect', () => {
    expect(ws.messages[0]).toMatchObject({
      type: 'snapshot',
      queue: { running: null, queued: [] },
      runs: [],
    });
  });

  it('runs a workflow and streams the event sequence', async () => {
    const { runId, end, messages } = await runToEnd(chain(1));
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    const types = messages.map((m) => m.type);
    expect(types[0]).toBe('run.queued');
    expect(types[1]).toBe('run.started');
    expect(types[types.length - 1]).toBe('run.finished');
    const ev = nodeEvents(messages);
    for (const id of ['a', 'ten', 'add', 'out']) {
      expect(ev.indexOf(`node.started ${id}`), id).toBeGreaterThanOrEqual(0);
      expect(ev.indexOf(`node.output ${id}`), id).toBeGreaterThan(ev.indexOf(`node.started ${id}`));
    }
    // Dependents start only after their inputs exist.
    expect(ev.indexOf('node.started add')).toBeGreaterThan(ev.indexOf('node.output a'));
    expect(ev.indexOf('node.started add')).toBeGreaterThan(ev.indexOf('node.output ten'));
    expect(ev.indexOf('node.started out')).toBeGreaterThan(ev.indexOf('node.output add'));
    const output = messages.find((m) => m.type === 'node.output' && m.nodeId === 'out');
    expect(output).toMatchObject({
      display: { label: 'result', value: { kind: 'prompts', prompts: ['13'] } },
    });

    const detail = await getJson<RunDetail>(server.url, `/api/runs/${runId}`);
    expect(detail.status).toBe('succeeded');
    expect(detail.attempts).toBe(1);
    expect(detail.workflow).toMatchObject({ meta: { name: 'chain' } });
    expect(Object.fromEntries(detail.nodes.map((n) => [n.nodeId, n.status]))).toEqual({
      a: 'done',
      ten: 'done',
      add: 'done',
      out: 'done',
    });
    const add = detail.nodes.find((n) => n.nodeId === 'add')!;
    expect(add.outputs).toEqual({ sum: { kind: 'prompts', prompts: ['13'] } });
    expect(add.started).not.toBeNull();
    expect(add.durationMs).not.toBeNull();
  });

  it('serves a re-run entirely from the cache', async () => {
    const { end, messages } = await runToEnd(chain(1));
    expect(end.type).toBe('run.finished');
    expect(nodeEvents(messages).sort()).toEqual([
      'node.cached a',
      'node.cached add',
      'node.cached out',
      'node.cached ten',
    ]);
  });

  it('re-runs only the changed node and what is downstream of it', async () => {
    const { runId, messages } = await runToEnd(chain(5));
    const ev = nodeEvents(messages);
    expect(ev.filter((e) => e.startsWith('node.cached')).sort()).toEqual([
      'node.cached a',
      'node.cached ten',
    ]);
    expect(ev.filter((e) => e.startsWith('node.started')).sort()).toEqual([
      'node.started add',
      'node.started out',
    ]);
    const detail = await getJson<RunDetail>(server.url, `/api/runs/${runId}`);
    expect(detail.nodes.find((n) => n.nodeId === 'out')?.display).toMatchObject({
      value: { prompts: ['17'] },
    });
  });

  it('runs only the ancestors of the requested outputs', async () => {
    const doc = workflow()
      .node('x', 'test/basic/number', { value: 7001 })
      .node('y', 'test/basic/number', { value: 7002 })
      .node('sx', 'test/basic/sink')
      .node('sy', 'test/basic/sink')
      .link('x.value', 'sx.value')
      .link('y.value', 'sy.value')
      .build();
    const { runId } = await runToEnd(doc, ['sy']);
    const detail = await getJson<RunDetail>(server.url, `/api/runs/${runId}`);
    expect(detail.nodes.map((n) => n.nodeId).sort()).toEqual(['sy', 'y']);
    expect(detail.outputs).toEqual(['sy']);
  });

  it('lets an independent branch finish when another fails', async () => {
    const doc = workflow()
      .node('src', 'test/basic/number', { value: 3 })
      .node('bad', 'test/basic/fail', { message: 'disk on fire' })
      .node('badOut', 'test/basic/sink')
      .node('good', 'test/basic/add', { offset: 100 })
      .node('goodOut', 'test/basic/sink')
      .link('src.value', 'bad.in')
      .link('bad.out', 'badOut.value')
      .link('src.value', 'good.a')
      .link('good.sum', 'goodOut.value')
      .build();
    const { runId, end } = await runToEnd(doc);
    expect(end).toMatchObject({
      type: 'run.failed',
      nodeErrors: [{ nodeId: 'bad', error: { message: 'disk on fire' } }],
    });
    const detail = await getJson<RunDetail>(server.url, `/api/runs/${runId}`);
    const byId = Object.fromEntries(detail.nodes.map((n) => [n.nodeId, n]));
    expect(byId.bad?.status).toBe('failed');
    expect(byId.bad?.error?.message).toBe('disk on fire');
    expect(byId.badOut?.status).toBe('skipped');
    expect(byId.badOut?.reason).toContain('bad');
    expect(byId.goodOut?.status).toBe('done');
    expect(byId.goodOut?.display).toMatchObject({ value: { prompts: ['103'] } });
    expect(detail.status).toBe('failed');
    expect(detail.error).toContain('disk on fire');
  });

  it('answers 400 with every problem per node and field for an invalid workflow', async () => {
    const doc = workflow()
      .node('n', 'test/basic/number', { value: 1e12 })
      .node('add', 'test/basic/add')
      .node('ghost', 'test/nope/missing')
      .node('out', 'test/basic/sink')
      .link('n.value', 'out.value')
      .build();
    const before = ws.messages.length;
    const { status, body } = await postRun(server.url, doc);
    expect(status).toBe(400);
    expect(body.error?.code).toBe('invalid_workflow');
    const errors = (body.error!.details as { errors: { nodeId: string; field?: string; kind: string }[] })
      .errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: 'n', field: 'params.value', kind: 'bad-param' }),
        expect.objectContaining({ nodeId: 'add', field: 'inputs.a', kind: 'missing-input' }),
        expect.objectContaining({ nodeId: 'ghost', kind: 'unknown-node-type' }),
      ]),
    );
    // Nothing was queued.
    expect(ws.messages.slice(before).some((m) => m.type === 'run.queued')).toBe(false);
  });

  it('rejects malformed run requests with JSON errors, never a 500', async () => {
    const cases: [string, RequestInit][] = [
      ['no body', { method: 'POST' }],
      ['not json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }],
      ['array', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }],
      [
        'extra key',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"workflow":{},"x":1}' },
      ],
      [
        'bad outputs',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"workflow":{},"outputs":"a"}',
        },
      ],
      [
        'not a workflow',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"workflow":{"a":1}}' },
      ],
    ];
    for (const [name, init] of cases) {
      const res = await fetch(`${server.url}/api/runs`, init);
      expect(res.status, name).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(typeof body.error.message, name).toBe('string');
    }
    expect((await fetch(`${server.url}/api/runs/not%20an%20id`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/runs/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/runs?limit=abc`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/nothing-here`)).status).toBe(404);
  });

  it('persists custom node events and serves them incrementally', async () => {
    const doc = workflow()
      .node('v', 'test/basic/number', { value: 41 })
      .node('save', 'test/basic/save')
      .link('v.value', 'save.value')
      .build();
    const { runId, messages } = await runToEnd(doc);
    expect(messages.some((m) => m.type === 'node.event' && m.event.type === 'saved')).toBe(true);
    const all = await getJson<{
      events: { seq: number; nodeId: string; type: string; data: unknown }[];
      last: number;
    }>(server.url, `/api/runs/${runId}/events?node=save&type=saved`);
    expect(all.events).toEqual([
      expect.objectContaining({ nodeId: 'save', type: 'saved', data: { value: 41 } }),
    ]);
    const later = await getJson<{ events: unknown[] }>(
      server.url,
      `/api/runs/${runId}/events?since=${all.last}`,
    );
    expect(later.events).toEqual([]);
    const detail = await getJson<RunDetail>(server.url, `/api/runs/${runId}`);
    expect(detail.nodes.find((n) => n.nodeId === 'save')?.logs.map((l) => l.message)).toEqual(['saved']);
  });

  it('lists history newest first with a cursor', async () => {
    const page1 = await getJson<{
      runs: { id: string; seq: number }[];
      total: number;
      nextBefore: number | null;
    }>(server.url, '/api/runs?limit=2');
    expect(page1.runs).toHaveLength(2);
    expect(page1.total).toBeGreaterThanOrEqual(5);
    expect(page1.runs[0]!.seq).toBeGreaterThan(page1.runs[1]!.seq);
    const page2 = await getJson<{ runs: { seq: number }[] }>(
      server.url,
      `/api/runs?limit=2&before=${page1.nextBefore}`,
    );
    expect(page2.runs[0]!.seq).toBeLessThan(page1.runs[1]!.seq);
    const failed = await getJson<{ runs: { status: string }[] }>(server.url, '/api/runs?status=failed');
    expect(failed.runs.length).toBeGreaterThan(0);
    expect(failed.runs.every((r) => r.status === 'failed')).toBe(true);
  });

  it('answers invalid websocket messages with an error and keeps the connection', async () => {
    const count = () => ws.messages.filter((m) => m.type === 'error').length;
    const before = count();
    ws.send('not json');
    ws.send({ type: 'subscribe', runId: 5 });
    ws.send({ type: 'launch-missiles' });
    await ws.waitFor(() => count() >= before + 3);
    ws.send({ type: 'ping', id: 'p1' });
    expect(await ws.waitFor((m) => m.type === 'pong')).toMatchObject({ type: 'pong', id: 'p1' });
  });

  it('limits node messages to the subscribed run', async () => {
    const follower = await EventClient.connect(server.url);
    try {
      const one = workflow()
        .node('p', 'test/basic/number', { value: 9101 })
        .node('q', 'test/basic/sink')
        .link('p.value', 'q.value')
        .build();
      const two = workflow()
        .node('p', 'test/basic/number', { value: 9102 })
        .node('q', 'test/basic/sink')
        .link('p.value', 'q.value')
        .build();
      const first = (await postRun(server.url, one)).body.runId!;
      await ws.runEnd(first);
      // Subscribe to the first (finished) run: the second run's node messages must not arrive.
      follower.send({ type: 'subscribe', runId: first });
      follower.send({ type: 'ping', id: 'sync' });
      await follower.waitFor((m) => m.type === 'pong');
      const second = (await postRun(server.url, two)).body.runId!;
      await follower.runEnd(second);
      const seen = follower.forRun(second).map((m) => m.type);
      expect(seen).toContain('run.queued');
      expect(seen).toContain('run.finished');
      expect(seen.filter((t) => t.startsWith('node.'))).toEqual([]);
      expect(ws.forRun(second).some((m) => m.type === 'node.output')).toBe(true);
    } finally {
      follower.close();
    }
  });
});
