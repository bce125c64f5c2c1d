import { z } from 'zod';
import { type AnyNodeDefinition, defineNode } from '../../nodes/sdk/defineNode.ts';
import { NodeRegistry } from '../../nodes/sdk/registry.ts';
import { ui } from '../../nodes/sdk/ui.ts';
import type { PromptsValue } from '../../nodes/sdk/values.ts';

/**
 * Test-only nodes. Numbers travel as PROMPTS values holding one decimal string, so they use real socket
 * types and real value validation.
 */
export const num = (n: number): PromptsValue => ({ kind: 'prompts', prompts: [String(n)] });
export const numOf = (v: PromptsValue | undefined): number => Number(v?.prompts[0] ?? 0);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const testNumber = defineNode({
  type: 'test/basic/number',
  version: '1.0.0',
  title: 'Number',
  category: 'test',
  description: 'Outputs its value param',
  inputs: {},
  outputs: { value: { type: 'PROMPTS' } },
  params: z.object({ value: ui(z.number().min(-1e9).max(1e9).default(0), { widget: 'slider', step: 1 }) }),
  async run(_ctx, _inputs, params) {
    return { outputs: { value: num(params.value) } };
  },
});

export const testAdd = defineNode({
  type: 'test/basic/add',
  version: '1.0.0',
  title: 'Add',
  category: 'test',
  description: 'a + b (+ offset)',
  inputs: { a: { type: 'PROMPTS' }, b: { type: 'PROMPTS', optional: true } },
  outputs: { sum: { type: 'PROMPTS' } },
  params: z.object({ offset: z.number().default(0) }),
  async run(_ctx, inputs, params) {
    return { outputs: { sum: num(numOf(inputs.a) + numOf(inputs.b) + params.offset) } };
  },
});

export const testSum = defineNode({
  type: 'test/basic/sum',
  version: '1.0.0',
  title: 'Sum',
  category: 'test',
  description: 'Sums a list input',
  inputs: { values: { type: 'PROMPTS', list: true } },
  outputs: { sum: { type: 'PROMPTS' } },
  params: z.object({}),
  async run(_ctx, inputs) {
    return { outputs: { sum: num(inputs.values.reduce((acc, v) => acc + numOf(v), 0)) } };
  },
});

export const testFail = defineNode({
  type: 'test/basic/fail',
  version: '1.0.0',
  title: 'Fail',
  category: 'test',
  description: 'Always throws',
  inputs: { in: { type: 'PROMPTS', optional: true } },
  outputs: { out: { type: 'PROMPTS' } },
  params: z.object({ message: z.string().default('boom') }),
  async run(_ctx, _inputs, params) {
    throw new Error(params.message);
  },
});

/** Reports progress every step and never checks the signal itself: cancel must work through progress. */
export const testSlow = defineNode({
  type: 'test/basic/slow',
  version: '1.0.0',
  title: 'Slow',
  category: 'test',
  description: 'Passes its input through after `steps` sleeps of `stepMs`',
  inputs: { in: { type: 'PROMPTS', optional: true } },
  outputs: { out: { type: 'PROMPTS' } },
  params: z.object({
    steps: z.number().int().min(1).max(100_000).default(10),
    stepMs: z.number().int().min(0).max(10_000).default(20),
  }),
  async run(ctx, inputs, params) {
    for (let i = 0; i < params.steps; i++) {
      await sleep(params.stepMs);
      ctx.progress(i + 1, params.steps, `step ${i + 1}`);
    }
    return { outputs: { out: inputs.in ?? num(params.steps) } };
  },
});

/** A heavy (engine) node: the executor runs these one at a time. */
export const testHeavy = defineNode({
  type: 'test/basic/heavy',
  version: '1.0.0',
  title: 'Heavy',
  category: 'test',
  description: 'Sleeps, then passes its input through',
  heavy: true,
  inputs: { in: { type: 'PROMPTS', optional: true } },
  outputs: { out: { type: 'PROMPTS' } },
  params: z.object({ ms: z.number().int().min(0).default(10) }),
  async run(ctx, inputs, params) {
    await sleep(params.ms);
    ctx.progress(1, 1);
    return { outputs: { out: inputs.in ?? num(params.ms) } };
  },
});

/** Returns a value that does not match its PROMPTS socket. */
export const testBadOutput = defineNode({
  type: 'test/basic/bad-output',
  version: '1.0.0',
  title: 'Bad output',
  category: 'test',
  description: 'Returns a wrongly shaped value',
  inputs: {},
  outputs: { out: { type: 'PROMPTS' } },
  params: z.object({}),
  async run() {
    return { outputs: { out: { kind: 'prompts', prompts: 'not-an-array' } as unknown as PromptsValue } };
  },
});

/** Version 2 renamed the v1 param `multiplier` to `factor`; v0 params cannot be upgraded. */
export const testScale = defineNode({
  type: 'test/basic/scale',
  version: '2.1.0',
  title: 'Scale',
  category: 'test',
  description: 'Multiplies its input by factor',
  inputs: { in: { type: 'PROMPTS' } },
  outputs: { out: { type: 'PROMPTS' } },
  params: z.object({ factor: z.number().min(0).max(100).default(1) }),
  migrate(fromVersion, params) {
    if (fromVersion.startsWith('1.')) {
      const { multiplier, ...rest } = params;
      return { ...rest, factor: multiplier ?? 1 };
    }
    throw new Error(`params from version ${fromVersion} predate the factor param; set factor by hand`);
  },
  async run(_ctx, inputs, params) {
    return { outputs: { out: num(numOf(inputs.in) * params.factor) } };
  },
});

/** Output node: shows its input. */
export const testSink = defineNode({
  type: 'test/basic/sink',
  version: '1.0.0',
  title: 'Sink',
  category: 'test',
  description: 'Output node that displays its input',
  output: true,
  inputs: { value: { type: 'ANY' } },
  outputs: {},
  params: z.object({ label: z.string().default('') }),
  async run(_ctx, inputs, params) {
    return { outputs: {}, display: { label: params.label, value: inputs.value } };
  },
});

/** Side-effecting output node: never cached. */
export const testSave = defineNode({
  type: 'test/basic/save',
  version: '1.0.0',
  title: 'Save',
  category: 'test',
  description: 'Output node with cache: never; emits a `saved` event',
  output: true,
  cache: 'never',
  inputs: { value: { type: 'PROMPTS' } },
  outputs: {},
  params: z.object({}),
  async run(ctx, inputs) {
    ctx.emit({ type: 'saved', data: { value: numOf(inputs.value) } });
    ctx.log.info('saved');
    return { outputs: {}, display: { saved: numOf(inputs.value) } };
  },
});

export const testNodes: AnyNodeDefinition[] = [
  testNumber,
  testAdd,
  testSum,
  testFail,
  testSlow,
  testHeavy,
  testBadOutput,
  testScale,
  testSink,
  testSave,
];

/** A registry holding only the test nodes (plus any extra definitions a test passes). */
export function createTestRegistry(extra: readonly AnyNodeDefinition[] = []): NodeRegistry {
  return new NodeRegistry().registerAll([...testNodes, ...extra]);
}
