import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AppDatabase, openDatabase } from '../store/database.ts';
import { RunRepository } from './runRepository.ts';

let dir: string;
let db: AppDatabase;
let repo: RunRepository;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loraflow-runs-'));
  db = openDatabase(dir);
  repo = new RunRepository(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const add = (id: string, t = 1) =>
  repo.insert({ id, name: `wf ${id}`, workflow: { id }, outputs: null, created: t });

describe('RunRepository', () => {
  it('keeps runs in FIFO order and survives reopening', () => {
    add('a');
    add('b');
    add('c');
    repo.markStarted('a', 10);
    repo.markFinished('a', 'succeeded', 15, null);
    repo.markStarted('b', 16);
    db.close();
    db = openDatabase(dir);
    repo = new RunRepository(db);
    expect(repo.unfinished().map((r) => [r.id, r.status])).toEqual([
      ['b', 'running'],
      ['c', 'queued'],
    ]);
    expect(repo.summary('a')).toMatchObject({
      status: 'succeeded',
      durationMs: 5,
      attempts: 1,
      name: 'wf a',
    });
    expect(repo.workflow('c')).toEqual({ id: 'c' });
  });

  it('pages history newest first with a cursor and filters by status', () => {
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) add(id);
    repo.markFinished('r2', 'failed', 2, 'boom');
    const p1 = repo.list({ limit: 2 });
    expect(p1.runs.map((r) => r.id)).toEqual(['r5', 'r4']);
    expect(p1.total).toBe(5);
    const p2 = repo.list({ limit: 2, before: p1.nextBefore! });
    expect(p2.runs.map((r) => r.id)).toEqual(['r3', 'r2']);
    const p3 = repo.list({ limit: 2, before: p2.nextBefore! });
    expect(p3.runs.map((r) => r.id)).toEqual(['r1']);
    expect(p3.nextBefore).toBeNull();
    expect(repo.list({ limit: 10, status: 'failed' }).runs.map((r) => [r.id, r.error])).toEqual([
      ['r2', 'boom'],
    ]);
  });

  it('replaces node states, drops progress, and resets them when a run restarts', () => {
    add('a');
    repo.markStarted('a', 1);
    const node = {
      nodeId: 'n1',
      type: 't/a/b',
      status: 'running' as const,
      started: 5,
      finished: null,
      durationMs: null,
      outputs: null,
      display: null,
      error: null,
      reason: null,
      logs: [],
    };
    repo.writeNodes('a', [{ ...node, progress: { value: 1, max: 2 } }]);
    expect(repo.nodeStates('a')).toEqual([node]);
    repo.writeNodes('a', [{ ...node, status: 'done', finished: 9, outputs: { out: 1 }, display: { x: 1 } }]);
    expect(repo.detail('a')?.nodes).toEqual([
      {
        nodeId: 'n1',
        type: 't/a/b',
        status: 'done',
        started: 5,
        finished: 9,
        durationMs: 4,
        outputs: { out: 1 },
        display: { x: 1 },
        error: null,
        reason: null,
        logs: [],
      },
    ]);
    repo.markStarted('a', 20);
    expect(repo.nodeStates('a')).toEqual([]);
    expect(repo.summary('a')?.attempts).toBe(2);
  });

  it('stores custom events with per-run sequence numbers and filters them', () => {
    add('a');
    add('b');
    repo.appendEvent('a', 'train', 'metrics', { step: 1, loss: 0.5 }, 1);
    repo.appendEvent('a', 'train', 'sample', { hash: 'x' }, 2);
    repo.appendEvent('b', 'other', 'metrics', { step: 1 }, 2);
    repo.appendEvent('a', 'train', 'metrics', { step: 2, loss: 0.4 }, 3);
    const all = repo.events('a', { limit: 100 });
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
    const metrics = repo.events('a', { type: 'metrics', since: 1, limit: 100 });
    expect(metrics).toEqual([
      { seq: 3, nodeId: 'train', type: 'metrics', data: { step: 2, loss: 0.4 }, time: 3 },
    ]);
    expect(repo.events('a', { node: 'nope', limit: 100 })).toEqual([]);
  });
});
