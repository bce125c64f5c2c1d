import { afterEach, describe, expect, it } from 'vitest';
import type { LoraflowServer } from '../../server/app.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { openDatabase } from '../../server/store/database.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient, getJson, postRun, startTestServer } from './serverHarness.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('restart mid-queue', () => {
  it('resumes the interrupted run and the queued one, serving finished nodes from the cache', async () => {
    const tmp = makeTempDir('loraflow-it-restart-');
    cleanups.push(tmp.cleanup);
    let server: LoraflowServer = await startTestServer({ dataDir: tmp.dir });
    let ws = await EventClient.connect(server.url);
    // first → slow (about 3 s) → out; a second run waits in the queue behind it.
    const slowDoc = workflow()
      .node('first', 'test/basic/number', { value: 5 })
      .node('slow', 'test/basic/slow', { steps: 150, stepMs: 20 })
      .node('out', 'test/basic/sink')
      .link('first.value', 'slow.in')
      .link('slow.out', 'out.value')
      .build('slow');
    const nextDoc = workflow()
      .node('n', 'test/basic/number', { value: 8 })
      .node('o', 'test/basic/sink')
      .link('n.value', 'o.value')
      .build('next');
    const slowRun = (await postRun(server.url, slowDoc)).body.runId!;
    const nextRun = (await postRun(server.url, nextDoc)).body.runId!;
    await ws.waitFor((m) => m.type === 'node.progress' && m.runId === slowRun && m.nodeId === 'slow');
    expect(ws.messages.some((m) => m.type === 'node.output' && m.nodeId === 'first')).toBe(true);
    ws.close();
    await server.close();

    // The database says the run was interrupted, not cancelled or failed.
    const db = openDatabase(tmp.dir);
    const rows = db.sqlite.prepare('SELECT id, status FROM runs ORDER BY seq').all();
    db.close();
    expect(rows).toEqual([
      { id: slowRun, status: 'running' },
      { id: nextRun, status: 'queued' },
    ]);

    server = await startTestServer({ dataDir: tmp.dir });
    cleanups.push(() => server.close());
    ws = await EventClient.connect(server.url);
    cleanups.push(() => ws.close());
    const snapshot = ws.messages[0];
    expect(snapshot?.type).toBe('snapshot');
    if (snapshot?.type === 'snapshot') {
      expect([snapshot.queue.running, ...snapshot.queue.queued]).toEqual([slowRun, nextRun]);
    }
    expect((await ws.runEnd(slowRun)).type).toBe('run.finished');
    expect((await ws.runEnd(nextRun)).type).toBe('run.finished');

    const detail = await getJson<RunDetail>(server.url, `/api/runs/${slowRun}`);
    expect(detail.status).toBe('succeeded');
    expect(detail.attempts).toBe(2);
    const status = Object.fromEntries(detail.nodes.map((n) => [n.nodeId, n.status]));
    expect(status).toEqual({ first: 'cached', slow: 'done', out: 'done' });
    expect(detail.nodes.find((n) => n.nodeId === 'out')?.display).toMatchObject({
      value: { prompts: ['5'] },
    });
    // The resumed run finished before the queued one started (FIFO kept across the restart).
    const seq = ws.messages.map((m) => `${m.type}:${'runId' in m ? m.runId : ''}`);
    expect(seq.indexOf(`run.finished:${slowRun}`)).toBeLessThan(seq.indexOf(`run.started:${nextRun}`));
  });
});
