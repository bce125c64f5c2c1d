import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestExecutor, statuses, type TestExecutor } from '../../tests/helpers/executorHarness.ts';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { type num, numOf } from '../../tests/helpers/testNodes.ts';
import { workflow } from '../../tests/helpers/workflowBuilder.ts';

let tmp: ReturnType<typeof makeTempDir>;
let t: TestExecutor;
beforeAll(() => {
  tmp = makeTempDir();
  t = createTestExecutor({ dataDir: tmp.dir, lightConcurrency: 2 });
});
afterAll(() => {
  t.close();
  tmp.cleanup();
});

/** Random DAG of sum nodes over numbered seeds: edges i → j for i < j; each node also reads its own seed. */
const dagArb = fc.record({
  size: fc.integer({ min: 1, max: 15 }),
  edges: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 30 }),
  seedBase: fc.integer({ min: 0, max: 1000 }),
});

describe('executor on random DAGs', () => {
  it('computes the same sums as a direct evaluation, then re-runs fully cached', async () => {
    await fc.assert(
      fc.asyncProperty(dagArb, async ({ size, edges, seedBase }) => {
        const parents: number[][] = Array.from({ length: size }, () => []);
        for (const [a, b] of edges) {
          const i = a % size;
          const j = b % size;
          if (i < j && !parents[j]!.includes(i)) parents[j]!.push(i);
        }
        const b = workflow();
        for (let i = 0; i < size; i++) {
          b.node(`seed${i}`, 'test/basic/number', { value: seedBase + i });
          b.node(`s${i}`, 'test/basic/sum').link(`seed${i}.value`, `s${i}.values`);
          for (const p of parents[i]!) b.link(`s${p}.sum`, `s${i}.values`);
        }
        b.node('out', 'test/basic/sink').link(`s${size - 1}.sum`, 'out.value');
        const doc = b.build();
        const expected: number[] = [];
        for (let i = 0; i < size; i++)
          expected[i] = seedBase + i + parents[i]!.reduce((acc, p) => acc + expected[p]!, 0);

        const first = await t.run(doc);
        expect(first.outcome.status).toBe('succeeded');
        expect(numOf(first.outcome.nodes.out!.display!.value as ReturnType<typeof num>)).toBe(
          expected[size - 1],
        );
        const second = await t.run(doc);
        expect(new Set(Object.values(statuses(second.outcome)))).toEqual(new Set(['cached']));
      }),
      { numRuns: 25, seed: 7 },
    );
  });
});
