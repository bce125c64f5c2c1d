import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraflowServer } from '../../server/app.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient, getJson, postRun, startTestServer } from './serverHarness.ts';

let tmp: ReturnType<typeof makeTempDir>;
let server: LoraflowServer;
let ws: EventClient;

beforeAll(async () => {
  tmp = makeTempDir('loraflow-it-cancel-');
  server = await startTestServer({ dataDir: tmp.dir });
  ws = await EventClient.connect(server.url);
});
afterAll(async () => {
  ws.close();
  await server.close();
  tmp.cleanup();
});

const slow = (value: number) =>
  workflow()
    .node('n', 'test/basic/number', { value })
    .node('slow', 'test/basic/slow', { steps: 5000, stepMs: 20 })
    .node('out', 'test/basic/sink')
    .link('n.value', 'slow.in')
    .link('slow.out', 'out.value')
    .build('slow');

const quick = (value: number) =>
  workflow()
    .node('n', 'test/basic/number', { value })
    .node('o', 'test/basic/sink')
    .link('n.value', 'o.value')
    .build();

const cancel = (runId: string) => fetch(`${server.url}/api/runs/${runId}/cancel`, { method: 'POST' });

describe('cancel', () => {
  it('stops a running node within 1 s and never touches another run', async () => {
    const running = (await postRun(server.url, slow(1))).body.runId!;
    const queued = (await postRun(server.url, quick(2))).body.runId!;
    await ws.waitFor((m) => m.type === 'node.progress' && m.runId === running);

    // Measured with the server's own timestamp of the end of the run, so websocket delivery is not counted.
    const t0 = Date.now();
    const res = await cancel(running);
    expect(await res.json()).toEqual({ runId: running, status: 'cancelling' });
    const end = await ws.runEnd(running);
    expect(end).toMatchObject({ type: 'run.cancelled', wasQueued: false });
    expect(end.ts - t0).toBeLessThan(1000);

    // The run queued behind it still runs to the end.
    expect((await ws.runEnd(queued)).type).toBe('run.finished');
    const detail = await getJson<RunDetail>(server.url, `/api/runs/${running}`);
    expect(detail.status).toBe('cancelled');
    expect(detail.nodes.find((n) => n.nodeId === 'slow')?.status).toBe('cancelled');
    expect(detail.nodes.find((n) => n.nodeId === 'out')?.status).toBe('cancelled');
    expect((await cancel(running)).status).toBe(409);
  });

  it('removes a queued run without disturbing the running one', async () => {
    const running = (await postRun(server.url, slow(3))).body.runId!;
    const queued = (await postRun(server.url, quick(4))).body.runId!;
    await ws.waitFor((m) => m.type === 'node.progress' && m.runId === running);
    const res = await cancel(queued);
    expect(await res.json()).toEqual({ runId: queued, status: 'cancelled' });
    expect(await ws.runEnd(queued)).toMatchObject({ type: 'run.cancelled', wasQueued: true });
    expect(ws.messages.some((m) => m.type === 'run.started' && m.runId === queued)).toBe(false);
    // The running run was not touched: still running.
    const live = await getJson<RunDetail>(server.url, `/api/runs/${running}`);
    expect(live.status).toBe('running');
    expect(live.nodes.find((n) => n.nodeId === 'slow')?.progress?.max).toBe(5000);
    await cancel(running);
    expect((await ws.runEnd(running)).type).toBe('run.cancelled');
    expect((await cancel('no-such-run')).status).toBe(404);
  });

  it('gives a reconnecting client a snapshot with live node states', async () => {
    const running = (await postRun(server.url, slow(5))).body.runId!;
    await ws.waitFor((m) => m.type === 'node.progress' && m.runId === running);
    const late = await EventClient.connect(server.url);
    try {
      const snap = late.messages[0];
      expect(snap?.type).toBe('snapshot');
      if (snap?.type !== 'snapshot') return;
      expect(snap.queue.running).toBe(running);
      const run = snap.runs.find((r) => r.id === running);
      expect(run?.status).toBe('running');
      const nodes = Object.fromEntries(run!.nodes.map((n) => [n.nodeId, n.status]));
      expect(nodes).toEqual({ n: 'done', slow: 'running', out: 'pending' });
      expect(run!.nodes.find((n) => n.nodeId === 'slow')?.progress?.value).toBeGreaterThan(0);
    } finally {
      late.close();
      await cancel(running);
      await ws.runEnd(running);
    }
  });
});
