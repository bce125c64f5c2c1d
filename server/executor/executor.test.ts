import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineNode } from '../../nodes/sdk/defineNode.ts';
import { NodeRunError } from '../../nodes/sdk/errors.ts';
import { createTestExecutor, statuses, type TestExecutor } from '../../tests/helpers/executorHarness.ts';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { num, numOf } from '../../tests/helpers/testNodes.ts';
import { workflow } from '../../tests/helpers/workflowBuilder.ts';
import { loadWorkflow } from '../workflow/load.ts';
import { ExecutorEvent } from './events.ts';
import { Semaphore } from './semaphore.ts';

let tmp: ReturnType<typeof makeTempDir>;
let t: TestExecutor;
beforeEach(() => {
  tmp = makeTempDir();
  t = createTestExecutor({ dataDir: tmp.dir });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

const chain = (value = 2) =>
  workflow()
    .node('a', 'test/basic/number', { value })
    .node('b', 'test/basic/number', { value: 3 })
    .node('sum', 'test/basic/add')
    .node('out', 'test/basic/sink')
    .node('c', 'test/basic/number', { value: 10 })
    .node('out2', 'test/basic/sink')
    .link('a.value', 'sum.a')
    .link('b.value', 'sum.b')
    .link('sum.sum', 'out.value')
    .link('c.value', 'out2.value')
    .build();

describe('executor: running and caching', () => {
  it('runs the golden v1-basic fixture end to end', async () => {
    const text = readFileSync(
      join(import.meta.dirname, '../../tests/fixtures/workflows/v1-basic.json'),
      'utf8',
    );
    const loaded = loadWorkflow(text, t.registry);
    if (!loaded.ok) throw new Error('fixture did not load');
    const { outcome, events } = await t.run(loaded.doc, { runId: 'r1' });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.nodes.out!.display).toEqual({ label: 'result', value: num(5) });
    for (const e of events) expect(ExecutorEvent.safeParse(e).success).toBe(true);
    expect(events.filter((e) => e.nodeId === 'sum').map((e) => e.type)).toEqual([
      'node.started',
      'node.output',
    ]);
    const order = events.filter((e) => e.type === 'node.output').map((e) => e.nodeId);
    expect(order.indexOf('sum')).toBeGreaterThan(Math.max(order.indexOf('a'), order.indexOf('b')));
    expect(order.at(-1)).toBe('out');
  });

  it('runs the pre-release v0 fixture after migration', async () => {
    const text = readFileSync(
      join(import.meta.dirname, '../../tests/fixtures/workflows/v0-prerelease.json'),
      'utf8',
    );
    const loaded = loadWorkflow(text, t.registry);
    if (!loaded.ok) throw new Error('fixture did not load');
    const { outcome } = await t.run(loaded.doc);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.nodes.out!.display).toEqual({ label: 'v0', value: num(10) });
  });

  it('an unchanged re-run executes nothing and reports every node cached', async () => {
    const first = await t.run(chain());
    expect(Object.values(statuses(first.outcome))).toEqual(Array(6).fill('done'));
    const second = await t.run(chain());
    expect(statuses(second.outcome)).toEqual({
      a: 'cached',
      b: 'cached',
      sum: 'cached',
      out: 'cached',
      c: 'cached',
      out2: 'cached',
    });
    expect(second.events.map((e) => e.type)).toEqual(Array(6).fill('node.cached'));
    expect(second.outcome.nodes.out!.display).toEqual(first.outcome.nodes.out!.display);
    expect(second.outcome.nodes.out).toMatchObject({ durationMs: 0, startedAt: expect.any(Number) });
    expect(first.outcome.nodes.sum!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('stays fully cached after closing and reopening the database (restart)', async () => {
    await t.run(chain());
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir });
    const { outcome, events } = await t.run(chain());
    expect(new Set(Object.values(statuses(outcome)))).toEqual(new Set(['cached']));
    expect(events.some((e) => e.type === 'node.started')).toBe(false);
    expect(outcome.nodes.out!.display).toEqual({ label: '', value: num(5) });
  });

  it('changing one param re-runs exactly that node and its descendants', async () => {
    await t.run(chain(2));
    const { outcome } = await t.run(chain(8));
    expect(statuses(outcome)).toEqual({
      a: 'done',
      b: 'cached',
      sum: 'done',
      out: 'done',
      c: 'cached',
      out2: 'cached',
    });
    expect(outcome.nodes.out!.display).toEqual({ label: '', value: num(11) });
  });

  it('a param spelled out at its default value does not invalidate the cache', async () => {
    await t.run(chain());
    const doc = chain();
    doc.nodes.find((n) => n.id === 'sum')!.params = { offset: 0 };
    expect(new Set(Object.values(statuses((await t.run(doc)).outcome)))).toEqual(new Set(['cached']));
  });

  it('cache: never nodes always run', async () => {
    const doc = workflow()
      .node('a', 'test/basic/number', { value: 4 })
      .node('save', 'test/basic/save')
      .link('a.value', 'save.value')
      .build();
    await t.run(doc);
    const { outcome, events } = await t.run(doc);
    expect(statuses(outcome)).toEqual({ a: 'cached', save: 'done' });
    expect(events.find((e) => e.type === 'node.event')).toMatchObject({
      nodeId: 'save',
      event: { type: 'saved', data: { value: 4 } },
    });
    expect(events.find((e) => e.type === 'node.log')).toMatchObject({ level: 'info', message: 'saved' });
  });

  it('runs only the ancestors of the requested outputs', async () => {
    const { outcome } = await t.run(chain(), { outputs: ['out2'] });
    expect(statuses(outcome)).toEqual({ c: 'done', out2: 'done' });
    const plan = t.executor.plan(chain(), ['out']);
    if (!plan.ok) throw new Error('plan failed');
    expect(plan.plan.order).toEqual(['a', 'b', 'sum', 'out']);
    const reused = await t.run(chain(), { plan: plan.plan });
    expect(statuses(reused.outcome)).toEqual({ a: 'done', b: 'done', sum: 'done', out: 'done' });
  });

  it('passes list inputs in link order and bypassed nodes through', async () => {
    const doc = workflow()
      .node('x', 'test/basic/number', { value: 1 })
      .node('y', 'test/basic/number', { value: 20 })
      .node('scale', 'test/basic/scale', { factor: 100 }, { version: '2.1.0', bypass: true })
      .node('total', 'test/basic/sum')
      .node('out', 'test/basic/sink')
      .link('x.value', 'scale.in')
      .link('scale.out', 'total.values')
      .link('y.value', 'total.values')
      .link('total.sum', 'out.value')
      .build();
    const { outcome, events } = await t.run(doc);
    expect(outcome.nodes.out!.display).toEqual({ label: '', value: num(21) });
    expect(outcome.nodes.scale).toMatchObject({ status: 'done', bypassed: true, outputs: { out: num(1) } });
    expect(events.find((e) => e.nodeId === 'scale')).toMatchObject({ type: 'node.output', bypassed: true });
  });

  it('rejects an invalid workflow without running anything', async () => {
    const doc = workflow()
      .node('a', 'test/basic/number', { value: 'x' })
      .node('out', 'test/basic/sink')
      .link('a.value', 'out.value')
      .build();
    const { outcome, events } = await t.run(doc);
    expect(outcome.status).toBe('failed');
    expect(outcome.errors).toEqual([expect.objectContaining({ nodeId: 'a', field: 'params.value' })]);
    expect(events).toEqual([]);
  });

  it('a cached entry whose artifact is gone is a miss', async () => {
    const image = defineNode({
      type: 'test/probe/image',
      version: '1.0.0',
      title: 'Image',
      category: 'test',
      description: 'Stores one blob and outputs it as an image set',
      inputs: {},
      outputs: { images: { type: 'IMAGES' } },
      params: z.object({ text: z.string().default('pixels') }),
      async run(ctx, _inputs, params) {
        const hash = await ctx.store.put(Buffer.from(params.text), { contentType: 'image/png' });
        return { outputs: { images: { kind: 'images', items: [{ hash, width: 1, height: 1 }] } } };
      },
    });
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir, extraNodes: [image] });
    const doc = workflow()
      .node('img', 'test/probe/image')
      .node('out', 'test/basic/sink')
      .link('img.images', 'out.value')
      .build();
    const first = await t.run(doc);
    const items = (first.outcome.nodes.img!.outputs!.images as { items: { hash: string; caption: string }[] })
      .items;
    expect(items[0]!.caption).toBe(''); // socket schema defaults applied to outputs
    expect(statuses((await t.run(doc)).outcome)).toEqual({ img: 'cached', out: 'cached' });
    t.store.evict(items[0]!.hash);
    expect(statuses((await t.run(doc)).outcome)).toEqual({ img: 'done', out: 'cached' });
  });
});

describe('executor: failures', () => {
  it('a failure stops only its dependents; other branches finish', async () => {
    const doc = workflow()
      .node('bad', 'test/basic/fail', { message: 'disk on fire' })
      .node('sum', 'test/basic/add')
      .node('out', 'test/basic/sink')
      .node('good', 'test/basic/number', { value: 1 })
      .node('out2', 'test/basic/sink')
      .link('bad.out', 'sum.a')
      .link('sum.sum', 'out.value')
      .link('good.value', 'out2.value')
      .build();
    const { outcome, events } = await t.run(doc);
    expect(outcome.status).toBe('failed');
    expect(statuses(outcome)).toEqual({
      bad: 'failed',
      sum: 'skipped',
      out: 'skipped',
      good: 'done',
      out2: 'done',
    });
    expect(outcome.nodes.bad!.error).toEqual({ message: 'disk on fire' });
    expect(outcome.nodes.out!.reason).toBe('not run because node bad (test/basic/fail) failed');
    expect(
      events
        .filter((e) => e.type === 'node.skipped')
        .map((e) => e.nodeId)
        .sort(),
    ).toEqual(['out', 'sum']);
  });

  it('a node returning a wrongly shaped value fails with a clear error', async () => {
    const doc = workflow()
      .node('b', 'test/basic/bad-output')
      .node('out', 'test/basic/sink')
      .link('b.out', 'out.value')
      .build();
    const { outcome } = await t.run(doc);
    expect(outcome.nodes.b!.error!.message).toBe(
      'test/basic/bad-output returned invalid outputs: output out.prompts: must be an array (got "not-an-array") (expected a PROMPTS value)',
    );
    expect(outcome.nodes.out!.status).toBe('skipped');
  });

  it('carries a NodeRunError hint into the failure', async () => {
    const hinted = defineNode({
      type: 'test/probe/hinted',
      version: '1.0.0',
      title: 'Hinted',
      category: 'test',
      description: 'Throws with a hint',
      output: true,
      inputs: {},
      outputs: {},
      params: z.object({}),
      async run() {
        throw new NodeRunError('no images found', { hint: 'pick a folder with .png files' });
      },
    });
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir, extraNodes: [hinted] });
    const { events } = await t.run(workflow().node('h', 'test/probe/hinted').build());
    expect(events).toEqual([
      expect.objectContaining({ type: 'node.started' }),
      expect.objectContaining({
        type: 'node.failed',
        error: { message: 'no images found', hint: 'pick a folder with .png files' },
      }),
    ]);
  });
});

describe('executor: cancel', () => {
  it('a node that reports progress stops at its next report after cancel', async () => {
    let stepsAfterAbort = 0;
    const controller = new AbortController();
    const looping = defineNode({
      type: 'test/probe/looping',
      version: '1.0.0',
      title: 'Looping',
      category: 'test',
      description: 'Would run for hours; never checks the signal itself',
      output: true,
      inputs: {},
      outputs: {},
      params: z.object({}),
      async run(ctx) {
        for (let i = 0; i < 1_000_000; i++) {
          await new Promise((r) => setTimeout(r, 5));
          if (controller.signal.aborted) stepsAfterAbort++;
          if (i === 3) controller.abort();
          ctx.progress(i, 1_000_000);
        }
        return { outputs: {} };
      },
    });
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir, extraNodes: [looping] });
    const doc = workflow()
      .node('loop', 'test/probe/looping')
      .node('a', 'test/basic/number')
      .node('slow', 'test/basic/slow', { steps: 1000 })
      .node('out', 'test/basic/sink')
      .link('a.value', 'slow.in')
      .link('slow.out', 'out.value')
      .build();
    const { outcome, events } = await t.run(doc, { signal: controller.signal });
    expect(outcome.status).toBe('cancelled');
    expect(stepsAfterAbort).toBe(0);
    expect(statuses(outcome)).toMatchObject({ loop: 'cancelled', slow: 'cancelled', out: 'cancelled' });
    expect(
      events
        .filter((e) => e.type === 'node.cancelled')
        .map((e) => e.nodeId)
        .sort(),
    ).toEqual(['loop', 'out', 'slow']);
  });

  it('cancelling a run waiting for the shared engine lock leaves the other run alone', async () => {
    const lock = new Semaphore(1);
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir, heavyLock: lock });
    const other = makeTempDir();
    const t2 = createTestExecutor({ dataDir: other.dir, heavyLock: lock });
    try {
      const holder = workflow()
        .node('h', 'test/basic/heavy', { ms: 200 })
        .node('out', 'test/basic/sink')
        .link('h.out', 'out.value')
        .build();
      const waiter = workflow()
        .node('h', 'test/basic/heavy', { ms: 1 })
        .node('out', 'test/basic/sink')
        .link('h.out', 'out.value')
        .build();
      const controller = new AbortController();
      let started: () => void;
      const holderStarted = new Promise<void>((r) => {
        started = r;
      });
      const first = t.run(holder, { onEvent: (e) => e.type === 'node.started' && started() });
      await holderStarted;
      const second = t2.run(waiter, { signal: controller.signal });
      controller.abort();
      const [r1, r2] = await Promise.all([first, second]);
      expect(r1.outcome.status).toBe('succeeded');
      expect(r2.outcome.status).toBe('cancelled');
      expect(statuses(r2.outcome)).toEqual({ h: 'cancelled', out: 'cancelled' });
      expect(r2.events.some((e) => e.type === 'node.started')).toBe(false);
      expect(lock.pending).toBe(0);
    } finally {
      t2.close();
      other.cleanup();
    }
  });

  it('a run cancelled before it starts runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const { outcome, events } = await t.run(chain(), { signal: controller.signal });
    expect(outcome.status).toBe('cancelled');
    expect(events.every((e) => e.type === 'node.cancelled')).toBe(true);
  });
});

describe('executor: concurrency', () => {
  function probes() {
    const probe = { active: 0, peak: 0, heavyActive: 0, heavyPeak: 0 };
    const make = (heavy: boolean) =>
      defineNode({
        type: heavy ? 'test/probe/heavy' : 'test/probe/light',
        version: '1.0.0',
        title: 'Probe',
        category: 'test',
        description: 'Tracks how many run at once',
        heavy,
        inputs: {},
        outputs: { out: { type: 'PROMPTS' } },
        params: z.object({ id: z.number().default(0) }),
        async run(_ctx, _inputs, params) {
          if (heavy) probe.heavyPeak = Math.max(probe.heavyPeak, ++probe.heavyActive);
          else probe.peak = Math.max(probe.peak, ++probe.active);
          await new Promise((r) => setTimeout(r, 15));
          if (heavy) probe.heavyActive--;
          else probe.active--;
          return { outputs: { out: num(params.id) } };
        },
      });
    return { probe, nodes: [make(false), make(true)] };
  }

  const fanIn = (type: string, n: number) => {
    const b = workflow()
      .node('total', 'test/basic/sum')
      .node('out', 'test/basic/sink')
      .link('total.sum', 'out.value');
    for (let i = 0; i < n; i++) b.node(`p${i}`, type, { id: i }).link(`p${i}.out`, 'total.values');
    return b.build();
  };

  it('independent light nodes run concurrently, bounded by lightConcurrency', async () => {
    const { probe, nodes } = probes();
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir, extraNodes: nodes, lightConcurrency: 3 });
    const { outcome } = await t.run(fanIn('test/probe/light', 7));
    expect(outcome.nodes.out!.display).toEqual({ label: '', value: num(21) });
    expect(probe.peak).toBe(3);
  });

  it('heavy nodes run one at a time, also across runs sharing the lock', async () => {
    const { probe, nodes } = probes();
    const lock = new Semaphore(1);
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir, extraNodes: nodes, heavyLock: lock });
    const other = makeTempDir();
    const t2 = createTestExecutor({ dataDir: other.dir, extraNodes: nodes, heavyLock: lock });
    try {
      const [r1, r2] = await Promise.all([
        t.run(fanIn('test/probe/heavy', 3)),
        t2.run(fanIn('test/probe/heavy', 3)),
      ]);
      expect([r1.outcome.status, r2.outcome.status]).toEqual(['succeeded', 'succeeded']);
      expect(probe.heavyPeak).toBe(1);
    } finally {
      t2.close();
      other.cleanup();
    }
  });

  it('progress is throttled and the last report is flushed before the output', async () => {
    const chatty = defineNode({
      type: 'test/probe/chatty',
      version: '1.0.0',
      title: 'Chatty',
      category: 'test',
      description: 'Reports progress 1000 times in a row',
      output: true,
      inputs: {},
      outputs: {},
      params: z.object({}),
      async run(ctx) {
        for (let i = 1; i <= 1000; i++) ctx.progress(i, 1000);
        return { outputs: {}, display: { n: numOf(num(1000)) } };
      },
    });
    t.close();
    t = createTestExecutor({ dataDir: tmp.dir, extraNodes: [chatty] });
    const { events } = await t.run(workflow().node('c', 'test/probe/chatty').build());
    const progress = events.filter((e) => e.type === 'node.progress');
    expect(progress.length).toBeLessThan(100);
    const last = events.findLast((e) => e.type === 'node.progress');
    expect(last).toMatchObject({ value: 1000, max: 1000 });
    expect(events.indexOf(last!)).toBe(events.findIndex((e) => e.type === 'node.output') - 1);
  });
});
