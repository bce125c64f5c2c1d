import { describe, expect, it } from 'vitest';
import type { ExecutorEvent } from '../../executor/events.ts';
import type { RunOutcome } from '../../executor/runState.ts';
import { JsonRenderer } from './jsonRenderer.ts';
import { PlainRenderer } from './plainRenderer.ts';
import type { PlannedNode } from './renderer.ts';
import { TtyRenderer } from './ttyRenderer.ts';

const nodes: PlannedNode[] = [
  { id: 'load', type: 'x/y/load', title: 'Load' },
  { id: 'train', type: 'x/y/train', title: 'Train' },
  { id: 'save', type: 'x/y/save', title: 'Save' },
];
const base = (nodeId: string, ts: number) => ({ runId: 'r1', nodeId, ts });
const events: ExecutorEvent[] = [
  { type: 'node.cached', ...base('load', 1000), outputs: {} },
  { type: 'node.started', ...base('train', 1000) },
  { type: 'node.progress', ...base('train', 1100), value: 1, max: 4, text: 'step 1' },
  { type: 'node.progress', ...base('train', 1200), value: 2, max: 4 },
  { type: 'node.log', ...base('train', 1250), level: 'warn', message: 'loss is NaN' },
  {
    type: 'node.failed',
    ...base('train', 1300),
    error: { message: 'out of memory', hint: 'lower the batch size' },
  },
  { type: 'node.skipped', ...base('save', 1300), reason: 'not run because node train failed' },
];
const outcome: RunOutcome = {
  runId: 'r1',
  status: 'failed',
  startedAt: 1000,
  finishedAt: 1300,
  nodes: {
    load: { status: 'cached', warnings: [] },
    train: {
      status: 'failed',
      warnings: ['loss is NaN'],
      error: { message: 'out of memory', hint: 'lower the batch size' },
    },
    save: { status: 'skipped', warnings: [] },
  },
};

function play(r: {
  start(id: string, n: PlannedNode[]): void;
  event(e: ExecutorEvent): void;
  finish(o: RunOutcome): void;
}) {
  r.start('r1', nodes);
  for (const e of events) r.event(e);
  r.finish(outcome);
}

describe('run renderers', () => {
  it('plain: one line per change, errors with hints on stderr', () => {
    const out: string[] = [];
    const err: string[] = [];
    play(
      new PlainRenderer(
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    );
    const o = out.join('');
    const e = err.join('');
    expect(o).toContain('load (x/y/load) cached');
    expect(o).toContain('train (x/y/train) started');
    expect(o).toContain('train (x/y/train) 25% (1/4) step 1');
    expect(o).not.toContain('50%'); // throttled: at most one progress line every 2 s
    expect(o).toContain('save (x/y/save) skipped: not run because node train failed');
    expect(e).toContain('train (x/y/train) warn: loss is NaN');
    expect(e).toContain('train (x/y/train) failed: out of memory');
    expect(e).toContain('run failed in 300 ms (1 cached, 1 failed, 1 skipped)');
    expect(e).toContain('✗ train (x/y/train): out of memory');
    expect(e).toContain('hint: lower the batch size');
  });

  it('json: NDJSON with the events as is and a final summary', () => {
    const lines: string[] = [];
    play(new JsonRenderer((s) => lines.push(s)));
    const parsed = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(parsed[0]).toMatchObject({ type: 'run.started', runId: 'r1', nodes });
    expect(parsed.slice(1, -1)).toEqual(events);
    expect(parsed.at(-1)).toMatchObject({
      type: 'run.failed',
      nodes: { load: 'cached', train: 'failed', save: 'skipped' },
      nodeErrors: [{ nodeId: 'train', error: { message: 'out of memory' } }],
    });
  });

  it('tty: redraws one line per node in place and ends with the summary', () => {
    let written = '';
    const stream = { columns: 100, write: (s: string) => (written += s) } as unknown as NodeJS.WriteStream;
    const err: string[] = [];
    play(new TtyRenderer(stream, (s) => err.push(s)));
    // The final frame moves the cursor up over the three node lines and redraws them.
    const lastFrame = written.slice(written.lastIndexOf('\x1b[3A'));
    expect(lastFrame).toContain('◆ load Load');
    expect(lastFrame).toContain('✗ train Train');
    expect(lastFrame).toContain('failed: out of memory');
    expect(lastFrame).toContain('- save Save');
    expect(written).toContain('run failed in 300 ms');
    expect(err.join('')).toContain('train warn: loss is NaN');
  });
});
