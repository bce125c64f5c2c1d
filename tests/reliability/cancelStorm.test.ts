import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../server/api/events/serverMessages.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { getJson, postRun } from '../integration/serverHarness.ts';
import {
  engineCanMakeModels,
  engineProcesses,
  makeTrainingDataDir,
  realServerSuite,
  TRAINING_TIMEOUT_MS,
  trainingWorkflow,
} from './fixture.ts';

const STORM = 50;

describe.skipIf(!engineCanMakeModels())('cancel storm on the real engine', () => {
  const s = realServerSuite('loraflow-cancel-storm-', { prepare: (dir) => makeTrainingDataDir(dir) });

  const cancel = async (runId: string) => {
    const res = await fetch(`${s.server.url}/api/runs/${runId}/cancel`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as { runId?: string; status?: string } };
  };
  const isEnd = (m: ServerMessage) =>
    m.type === 'run.finished' || m.type === 'run.failed' || m.type === 'run.cancelled';

  it('cancels and re-queues one training 50 times: no leaked engine, no stuck run, no wrong run hit', async () => {
    const long = trainingWorkflow({ steps: 100_000, name: 'storm' });
    const short = trainingWorkflow({ steps: 2, name: 'kept' });
    const cancelled: string[] = [];
    const kept: string[] = [];
    for (let i = 0; i < STORM; i++) {
      const runId = (await postRun(s.server.url, long)).body.runId!;
      cancelled.push(runId);
      // A run nobody cancels, queued among the cancelled ones: a stray cancel would hit it.
      if (i === 10 || i === 30) kept.push((await postRun(s.server.url, short)).body.runId!);
      // Most cancels land while the run is queued or loading; every tenth waits until the engine trains.
      if (i % 10 === 5) {
        await s.ws.waitFor(
          (m) =>
            (m.type === 'node.progress' && m.runId === runId && m.text === 'training') ||
            (isEnd(m) && 'runId' in m && m.runId === runId),
          60_000,
        );
      }
      const res = await cancel(runId);
      expect(res.status).toBe(200);
      expect(res.body.runId).toBe(runId);
      expect(['cancelled', 'cancelling']).toContain(res.body.status);
    }
    const last = (await postRun(s.server.url, short)).body.runId!;
    kept.push(last);

    const ends = new Map<string, ServerMessage>();
    for (const id of [...cancelled, ...kept]) ends.set(id, await s.ws.runEnd(id, TRAINING_TIMEOUT_MS));
    for (const id of cancelled) expect(ends.get(id)?.type, id).toBe('run.cancelled');
    for (const id of kept) expect(ends.get(id)?.type, id).toBe('run.finished');
    // Some cancels stopped the engine mid-training (the node had started and was cancelled).
    const trainedThenCancelled = cancelled.filter((id) =>
      s.ws.messages.some((m) => m.type === 'node.progress' && m.runId === id && m.text === 'training'),
    );
    expect(trainedThenCancelled.length).toBeGreaterThanOrEqual(1);
    // Each run ended exactly once.
    const endCounts = new Map<string, number>();
    for (const m of s.ws.messages)
      if (isEnd(m) && 'runId' in m) endCounts.set(m.runId, (endCounts.get(m.runId) ?? 0) + 1);
    expect([...endCounts.values()].every((n) => n === 1)).toBe(true);

    // Nothing is stuck: the queue is idle and the database agrees.
    await s.server.queue.idle();
    expect(s.server.queue.state()).toEqual({ running: null, queued: [] });
    const open = s.server.db.sqlite
      .prepare("SELECT COUNT(*) AS n FROM runs WHERE status IN ('queued', 'running')")
      .get() as { n: number };
    expect(open.n).toBe(0);
    for (const id of kept) {
      const detail = await getJson<RunDetail>(s.server.url, `/api/runs/${id}`);
      expect(detail.nodes.find((n) => n.nodeId === 'train')?.status, id).toMatch(/^(done|cached)$/);
    }

    // At most the one engine process, alive and answering; none after the server closes.
    const engines = engineProcesses();
    expect(engines.length).toBeLessThanOrEqual(1);
    const system = await getJson<{ engine: { status: string } }>(s.server.url, '/api/system');
    expect(system.engine.status).toBe('ok');
    await s.server.close();
    expect(engineProcesses()).toEqual([]);
  }, 180_000);
});
