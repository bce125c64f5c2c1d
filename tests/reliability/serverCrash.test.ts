import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunDetail, RunSummary } from '../../server/queue/runTypes.ts';
import { exited, type ServeProcess, spawnServe } from '../helpers/serveProcess.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient, getJson, postRun } from '../integration/serverHarness.ts';

const tmp = makeTempDir('loraflow-server-crash-');
const dataDir = join(tmp.dir, 'data');
const servers: ServeProcess[] = [];
afterAll(() => {
  for (const s of servers)
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  tmp.cleanup();
});

async function serve(): Promise<ServeProcess> {
  const s = await spawnServe(tmp.dir, ['--port', '0', '--data', dataDir]);
  servers.push(s);
  return s;
}

const quick = (value: number, name: string) =>
  workflow()
    .node('n', 'test/basic/number', { value })
    .node('o', 'test/basic/sink')
    .link('n.value', 'o.value')
    .build(name);

describe('server killed with SIGKILL mid-run', { timeout: 60_000 }, () => {
  it('keeps queue, history and the partial run; resumes it from the cache; the database stays intact', async () => {
    const a = await serve();
    const ws = await EventClient.connect(a.url);
    const history = (await postRun(a.url, quick(1, 'history'))).body.runId!;
    expect((await ws.runEnd(history)).type).toBe('run.finished');

    const slowDoc = workflow()
      .node('first', 'test/basic/number', { value: 21 })
      .node('slow', 'test/basic/slow', { steps: 100, stepMs: 20 })
      .node('save', 'test/basic/save')
      .node('out', 'test/basic/sink')
      .link('first.value', 'slow.in')
      .link('slow.out', 'save.value')
      .link('slow.out', 'out.value')
      .build('interrupted');
    const interrupted = (await postRun(a.url, slowDoc)).body.runId!;
    const queued = (await postRun(a.url, quick(2, 'queued'))).body.runId!;
    await ws.waitFor(
      (m) => m.type === 'node.progress' && m.runId === interrupted && m.nodeId === 'slow' && m.value >= 5,
    );
    ws.close();
    a.child.kill('SIGKILL');
    await exited(a.child);

    // What the killed process left: an intact database that records the run as interrupted, not failed.
    const db = new BetterSqlite3(join(dataDir, 'loraflow.db'));
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(db.prepare('SELECT id, status FROM runs ORDER BY seq').all()).toEqual([
        { id: history, status: 'succeeded' },
        { id: interrupted, status: 'running' },
        { id: queued, status: 'queued' },
      ]);
      const partial = db
        .prepare('SELECT node_id AS id, status FROM run_nodes WHERE run_id = ? ORDER BY node_id')
        .all(interrupted);
      expect(partial).toEqual([
        { id: 'first', status: 'done' },
        { id: 'slow', status: 'running' },
      ]);
    } finally {
      db.close();
    }

    const b = await serve();
    try {
      const ws2 = await EventClient.connect(b.url);
      const snapshot = await ws2.waitFor((m) => m.type === 'snapshot');
      expect(ws2.messages[0]).toBe(snapshot);
      if (snapshot.type === 'snapshot')
        expect([snapshot.queue.running, ...snapshot.queue.queued]).toEqual([interrupted, queued]);
      expect((await ws2.runEnd(interrupted)).type).toBe('run.finished');
      expect((await ws2.runEnd(queued)).type).toBe('run.finished');
      ws2.close();

      const resumed = await getJson<RunDetail>(b.url, `/api/runs/${interrupted}`);
      expect(resumed.attempts).toBe(2);
      expect(Object.fromEntries(resumed.nodes.map((n) => [n.nodeId, n.status]))).toEqual({
        first: 'cached',
        slow: 'done',
        save: 'done',
        out: 'done',
      });
      expect(resumed.nodes.find((n) => n.nodeId === 'out')?.display).toMatchObject({
        value: { prompts: ['21'] },
      });
      // The side-effecting node ran once: it had not run before the crash.
      const saved = await getJson<{ events: unknown[] }>(b.url, `/api/runs/${interrupted}/events?type=saved`);
      expect(saved.events).toHaveLength(1);

      const { runs } = await getJson<{ runs: RunSummary[] }>(b.url, '/api/runs');
      expect(Object.fromEntries(runs.map((r) => [r.id, r.status]))).toEqual({
        [history]: 'succeeded',
        [interrupted]: 'succeeded',
        [queued]: 'succeeded',
      });
      const before = await getJson<RunDetail>(b.url, `/api/runs/${history}`);
      expect(before.attempts).toBe(1);
      expect(before.nodes.find((n) => n.nodeId === 'o')?.display).toMatchObject({
        value: { prompts: ['1'] },
      });
    } finally {
      b.child.kill('SIGTERM');
      expect(await exited(b.child)).toBe(0);
    }
    const after = new BetterSqlite3(join(dataDir, 'loraflow.db'));
    try {
      expect(after.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      after.close();
    }
  });
});
