import { readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineNode } from '../../nodes/sdk/defineNode.ts';
import { createTestExecutor, statuses, type TestExecutor } from '../../tests/helpers/executorHarness.ts';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { workflow } from '../../tests/helpers/workflowBuilder.ts';

const runs = { make: 0, read: 0, side: 0 };

/** Stores a blob and outputs its hash (content-cached, so a re-run is a cache hit). */
const make = defineNode({
  type: 'test/art/make',
  version: '1.0.0',
  title: 'Make',
  category: 'test',
  description: 'stores a blob',
  inputs: {},
  outputs: { out: { type: 'PROMPTS' } },
  params: z.object({ text: z.string().default('blob') }),
  async run(ctx, _inputs, p) {
    runs.make++;
    const hash = await ctx.store.put(Buffer.from(`${p.text}\n`.repeat(100)));
    return { outputs: { out: { kind: 'prompts', prompts: [hash] } } };
  },
});

/** Reads the blob its input names (hash-checked by the store). */
const read = defineNode({
  type: 'test/art/read',
  version: '1.0.0',
  title: 'Read',
  category: 'test',
  description: 'reads a blob',
  output: true,
  cache: 'never',
  inputs: { in: { type: 'PROMPTS' } },
  outputs: {},
  params: z.object({}),
  async run(ctx, inputs) {
    runs.read++;
    const data = await ctx.store.get(inputs.in.prompts[0]!);
    return { outputs: {}, display: { first: data.toString().split('\n')[0] } };
  },
});

/** A side effect on the same input that does not read the blob: it must not run twice in one run. */
const side = defineNode({
  type: 'test/art/side',
  version: '1.0.0',
  title: 'Side',
  category: 'test',
  description: 'counts its runs',
  output: true,
  cache: 'never',
  inputs: { in: { type: 'PROMPTS' } },
  outputs: {},
  params: z.object({}),
  async run() {
    runs.side++;
    return { outputs: {} };
  },
});

const doc = workflow()
  .node('make', 'test/art/make')
  .node('read', 'test/art/read')
  .node('side', 'test/art/side')
  .link('make.out', 'read.in')
  .link('make.out', 'side.in')
  .build();

let tmp: ReturnType<typeof makeTempDir>;
let t: TestExecutor;
afterEach(() => {
  t?.close();
  tmp?.cleanup();
});

async function firstRun(): Promise<string> {
  tmp = makeTempDir('loraflow-repair-');
  t = createTestExecutor({ dataDir: tmp.dir, extraNodes: [make, read, side] });
  const { outcome } = await t.run(doc);
  expect(outcome.status).toBe('succeeded');
  Object.assign(runs, { make: 0, read: 0, side: 0 });
  return (outcome.nodes.make!.outputs!.out as { prompts: string[] }).prompts[0]!;
}

describe('repair pass for corrupt or missing artifacts', () => {
  it('recomputes a cached artifact found corrupt on read, without re-running finished side effects', async () => {
    const hash = await firstRun();
    const path = t.store.pathOf(hash);
    const st = statSync(path);
    const bytes = readFileSync(path);
    bytes[3] = bytes[3]! ^ 1;
    writeFileSync(path, bytes);
    utimesSync(path, st.atime, (Math.floor(st.mtimeMs) + 0.5) / 1000);

    const { outcome, events } = await t.run(doc);
    expect(outcome.status).toBe('succeeded');
    expect(statuses(outcome)).toEqual({ make: 'done', read: 'done', side: 'done' });
    expect(outcome.nodes.read!.display).toEqual({ first: 'blob' });
    expect(runs).toEqual({ make: 1, read: 2, side: 1 });
    // The first pass saw the make node as a cache hit and the read node fail; both are reported.
    expect(events.filter((e) => e.type === 'node.cached').map((e) => e.nodeId)).toEqual(['make']);
    expect(events.filter((e) => e.type === 'node.failed').map((e) => e.nodeId)).toEqual(['read']);
    expect(
      events.filter((e) => e.type === 'node.log').map((e) => e.type === 'node.log' && e.message),
    ).toEqual([
      `input artifact ${hash.slice(0, 12)}… was corrupt in the store; it was removed and is recomputed`,
    ]);
    expect(t.store.verify(hash)).toBe(true);
  });

  it('recomputes a missing artifact (e.g. collected meanwhile)', async () => {
    const hash = await firstRun();
    unlinkSync(t.store.pathOf(hash));
    // The make node's cache entry is dropped at lookup, so it simply runs again: no failure at all.
    const { outcome, events } = await t.run(doc);
    expect(outcome.status).toBe('succeeded');
    expect(events.some((e) => e.type === 'node.failed')).toBe(false);
    expect(runs).toEqual({ make: 1, read: 1, side: 1 });
  });

  it('gives up after two repairs when the artifact keeps going bad', async () => {
    const hash = await firstRun();
    const real = t.store.get.bind(t.store);
    let reads = 0;
    // Every read finds the blob corrupt (a failing disk): the store evicts it each time.
    t.store.get = async (h: string) => {
      reads++;
      writeFileSync(t.store.pathOf(h), 'rotten');
      return real(h);
    };
    const { outcome } = await t.run(doc);
    expect(outcome.status).toBe('failed');
    expect(outcome.nodes.read!.error?.message).toContain(`artifact ${hash} was corrupt on disk`);
    expect(reads).toBe(3);
    expect(runs.make).toBe(2);
  });
});
