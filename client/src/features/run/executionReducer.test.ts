import { describe, expect, it } from 'vitest';
import { reduceExecution } from './executionReducer.ts';
import type { ExecutionState } from './executionStore.ts';
import { type ExecEvent, normalizeEvent } from './serverEvents.ts';

const empty: ExecutionState = {
  runId: null,
  runStatus: null,
  nodes: {},
  problems: {},
  generalProblems: [],
  connected: true,
  queue: { pending: 0, running: 0 },
};

function feed(messages: unknown[], start = empty): ExecutionState {
  return messages.reduce<ExecutionState>((s, m) => {
    const ev = normalizeEvent(m);
    if (!ev) throw new Error(`not a server message: ${JSON.stringify(m)}`);
    return reduceExecution(s, ev);
  }, start);
}

const ts = 1;
const summary = {
  id: 'r1',
  seq: 1,
  status: 'running',
  name: 'wf',
  outputs: null,
  created: 0,
  started: 0,
  finished: null,
  durationMs: null,
  error: null,
  attempts: 1,
};
const nodeState = (nodeId: string, status: string, extra: object = {}) => ({
  nodeId,
  type: 't/a/b',
  status,
  started: null,
  finished: null,
  durationMs: null,
  outputs: null,
  display: null,
  error: null,
  reason: null,
  logs: [],
  ...extra,
});

describe('execution state from server events', () => {
  it('follows a run through progress, output, cache and failure', () => {
    const s = feed([
      { type: 'run.started', runId: 'r1', ts, attempt: 1 },
      { type: 'node.cached', runId: 'r1', nodeId: 'a', ts, outputs: {} },
      { type: 'node.started', runId: 'r1', nodeId: 'b', ts },
      { type: 'node.progress', runId: 'r1', nodeId: 'b', ts, value: 37, max: 120, text: 'caption 37/120' },
    ]);
    expect(s.runId).toBe('r1');
    expect(s.runStatus).toBe('running');
    expect(s.nodes.a).toEqual({ status: 'cached' });
    expect(s.nodes.b).toEqual({ status: 'running', value: 37, max: 120, text: 'caption 37/120' });
    const display = { images: [{ hash: 'a'.repeat(64), caption: 'dog' }] };
    const t = feed(
      [
        { type: 'node.output', runId: 'r1', nodeId: 'b', ts, outputs: {}, display },
        { type: 'node.started', runId: 'r1', nodeId: 'c', ts },
        { type: 'node.failed', runId: 'r1', nodeId: 'c', ts, error: { message: 'no GPU', hint: 'use CPU' } },
        {
          type: 'run.failed',
          runId: 'r1',
          ts,
          status: 'failed',
          durationMs: 5,
          error: '1 node failed',
          nodeErrors: [],
        },
      ],
      s,
    );
    expect(t.nodes.b).toEqual({ status: 'done', display });
    expect(t.nodes.c).toEqual({ status: 'failed', error: 'no GPU — use CPU' });
    expect(t.runStatus).toBe('failed');
  });

  it('restores live state from the snapshot sent on connect', () => {
    const s = feed([
      {
        type: 'snapshot',
        ts,
        queue: { running: 'r1', queued: ['r2'] },
        runs: [
          {
            ...summary,
            nodes: [
              nodeState('a', 'done'),
              nodeState('b', 'running', { progress: { value: 3, max: 10, text: 'step 3/10' } }),
              nodeState('c', 'pending'),
            ],
          },
        ],
      },
    ]);
    expect(s.runId).toBe('r1');
    expect(s.queue).toEqual({ pending: 1, running: 1 });
    expect(s.nodes).toEqual({
      a: { status: 'done' },
      b: { status: 'running', value: 3, max: 10, text: 'step 3/10' },
      c: { status: 'queued' },
    });
  });

  it('turns queued marks idle when a run ends, and ignores another run while one is live', () => {
    const start: ExecutionState = {
      ...empty,
      runId: 'r1',
      runStatus: 'running',
      nodes: { a: { status: 'queued' } },
    };
    const other: ExecEvent = { kind: 'node', runId: 'r9', nodeId: 'x', patch: { status: 'running' } };
    expect(reduceExecution(start, other)).toBe(start);
    const s = feed(
      [{ type: 'run.cancelled', runId: 'r1', ts, status: 'cancelled', wasQueued: false }],
      start,
    );
    expect(s.nodes.a).toEqual({ status: 'cancelled' });
    // Once it has ended, the next run is adopted.
    expect(reduceExecution(s, other).runId).toBe('r9');
  });

  it('rejects malformed messages at the boundary', () => {
    expect(
      normalizeEvent({ type: 'node.progress', runId: 'r1', nodeId: 'a', ts, value: 'x', max: 1 }),
    ).toBeNull();
    expect(normalizeEvent({ type: 'mystery' })).toBeNull();
    expect(normalizeEvent('nope')).toBeNull();
  });
});

describe('live previews', () => {
  it('keeps the latest sample.preview of a running node and drops it when the node finishes', () => {
    const running: ExecutionState = {
      ...empty,
      runId: 'r1',
      runStatus: 'running',
      nodes: { s: { status: 'running' } },
    };
    const image = 'data:image/png;base64,iVBORw0KGgo=';
    const s = feed(
      [
        {
          type: 'node.event',
          runId: 'r1',
          nodeId: 's',
          ts,
          event: { type: 'sample.preview', data: { index: 0, step: 5, steps: 20, image } },
        },
      ],
      running,
    );
    expect(s.nodes.s?.livePreview).toEqual({ image, label: 'image 1, step 5/20' });
    const bad = feed(
      [
        {
          type: 'node.event',
          runId: 'r1',
          nodeId: 's',
          ts,
          event: { type: 'sample.preview', data: { step: 1, steps: 2, image: 'javascript:x' } },
        },
      ],
      running,
    );
    expect(bad.nodes.s?.livePreview).toBeUndefined();
    const done = feed([{ type: 'node.output', runId: 'r1', nodeId: 's', ts, outputs: {} }], s);
    expect(done.nodes.s).toEqual({ status: 'done' });
  });
});
