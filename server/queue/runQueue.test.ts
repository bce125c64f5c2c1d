import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineNode } from '../../nodes/sdk/defineNode.ts';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { createTestRegistry, num } from '../../tests/helpers/testNodes.ts';
import { workflow } from '../../tests/helpers/workflowBuilder.ts';
import type { ServerMessage } from '../api/events/serverMessages.ts';
import { createExecutor, type Executor } from '../executor/executor.ts';
import { createArtifactStore } from '../store/artifactStore.ts';
import { type AppDatabase, openDatabase } from '../store/database.ts';
import { RunQueue } from './runQueue.ts';
import { RunRepository } from './runRepository.ts';

/** Waits for the test to open its gate, never looking at its signal or reporting progress: it cannot be stopped. */
let openGate: () => void = () => {};
const stubborn = defineNode({
  type: 'test/basic/stubborn',
  version: '1.0.0',
  title: 'Stubborn',
  category: 'test',
  description: 'Ignores cancellation',
  inputs: {},
  outputs: { out: { type: 'PROMPTS' } },
  params: z.object({}),
  async run() {
    await new Promise<void>((resolve) => {
      openGate = resolve;
    });
    return { outputs: { out: num(1) } };
  },
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setup(executorOverride?: (real: Executor) => Executor) {
  const tmp = makeTempDir('loraflow-queue-');
  const db: AppDatabase = openDatabase(tmp.dir);
  cleanups.push(tmp.cleanup, () => db.close());
  const registry = createTestRegistry([stubborn]);
  const real = createExecutor({ registry, db, store: createArtifactStore(db) });
  const messages: ServerMessage[] = [];
  const repo = new RunRepository(db);
  const queue = new RunQueue({
    repo,
    registry,
    executor: executorOverride ? executorOverride(real) : real,
    publish: (m) => messages.push(m),
  });
  queue.start();
  return { queue, repo, messages, db };
}

const simple = (value: number) =>
  workflow()
    .node('n', 'test/basic/number', { value })
    .node('o', 'test/basic/sink')
    .link('n.value', 'o.value')
    .build();

describe('RunQueue', () => {
  it('records an internal failure on the run and keeps serving the queue', async () => {
    let calls = 0;
    const { queue, repo } = setup((real) => ({
      ...real,
      plan: real.plan,
      run: (doc, o) => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('database is locked'));
        return real.run(doc, o);
      },
    }));
    const a = queue.submit(simple(1), null);
    const b = queue.submit(simple(2), null);
    await queue.idle();
    expect(repo.summary(a.id)).toMatchObject({
      status: 'failed',
      error: 'internal error: database is locked',
    });
    expect(repo.summary(b.id)?.status).toBe('succeeded');
  });

  it('does not wait forever on close for a node that ignores cancellation, and the run resumes later', async () => {
    const { queue, repo, messages } = setup();
    const doc = workflow()
      .node('s', 'test/basic/stubborn')
      .node('o', 'test/basic/sink')
      .link('s.out', 'o.value')
      .build();
    const run = queue.submit(doc, null);
    while (!messages.some((m) => m.type === 'node.started')) await new Promise((r) => setTimeout(r, 10));
    await queue.close(100);
    expect(repo.summary(run.id)?.status).toBe('running');
    expect(repo.unfinished().map((r) => r.id)).toEqual([run.id]);
    expect(() => queue.submit(simple(3), null)).toThrow(/closed/);
    // Let the node end before the database closes; the run must still be left to resume.
    openGate();
    await queue.idle();
    expect(repo.summary(run.id)?.status).toBe('running');
  });

  it('cancels only the run it is asked to', async () => {
    const { queue, repo } = setup();
    const slow = workflow()
      .node('s', 'test/basic/slow', { steps: 500, stepMs: 10 })
      .node('o', 'test/basic/sink')
      .link('s.out', 'o.value')
      .build();
    const a = queue.submit(slow, null);
    const b = queue.submit(simple(4), null);
    const c = queue.submit(simple(5), null);
    expect(queue.cancel(b.id)).toEqual({ ok: true, status: 'cancelled' });
    expect(queue.state()).toEqual({ running: a.id, queued: [c.id] });
    expect(queue.cancel(a.id)).toEqual({ ok: true, status: 'cancelling' });
    await queue.idle();
    expect([a, b, c].map((r) => repo.summary(r.id)?.status)).toEqual(['cancelled', 'cancelled', 'succeeded']);
    expect(queue.cancel(c.id)).toEqual({ ok: false, reason: 'finished', status: 'succeeded' });
    expect(queue.cancel('nope')).toEqual({ ok: false, reason: 'not_found' });
  });
});
