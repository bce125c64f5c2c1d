import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTestRegistry } from '../../tests/helpers/testNodes.ts';
import { workflow } from '../../tests/helpers/workflowBuilder.ts';
import { planWorkflow } from './plan.ts';

const registry = createTestRegistry();

/** Random DAGs of test/basic/sum nodes (list input) fed by numbers, with a few sinks. Edges go i → j for i < j. */
const dagArb = fc
  .record({
    size: fc.integer({ min: 2, max: 25 }),
    edges: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 60 }),
    sinks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  })
  .map(({ size, edges, sinks }) => {
    const pairs = new Set<string>();
    for (const [a, b] of edges) {
      const i = a % size;
      const j = b % size;
      if (i < j) pairs.add(`${i}>${j}`);
    }
    return {
      size,
      pairs: [...pairs].map((p) => p.split('>').map(Number) as [number, number]),
      sinks: [...new Set(sinks.map((s) => s % size))],
    };
  });

describe('planWorkflow on random DAGs', () => {
  it('orders every link parent-first and schedules exactly the ancestors of the requested sinks', () => {
    fc.assert(
      fc.property(dagArb, ({ size, pairs, sinks }) => {
        const b = workflow().node('seed', 'test/basic/number');
        for (let i = 0; i < size; i++) b.node(`s${i}`, 'test/basic/sum').link('seed.value', `s${i}.values`);
        for (const [i, j] of pairs) b.link(`s${i}.sum`, `s${j}.values`);
        for (const k of sinks) b.node(`out${k}`, 'test/basic/sink').link(`s${k}.sum`, `out${k}.value`);
        const requested = sinks.slice(0, 1).map((k) => `out${k}`);
        const r = planWorkflow(b.build(), registry, requested);
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        const pos = new Map(r.plan.order.map((id, i) => [id, i]));
        for (const [i, j] of pairs) {
          if (pos.has(`s${j}`)) expect(pos.get(`s${i}`)!).toBeLessThan(pos.get(`s${j}`)!);
        }
        // Expected ancestors by brute force over the edge list.
        const need = new Set([`s${sinks[0]}`]);
        let grew = true;
        while (grew) {
          grew = false;
          for (const [i, j] of pairs) {
            if (need.has(`s${j}`) && !need.has(`s${i}`)) {
              need.add(`s${i}`);
              grew = true;
            }
          }
        }
        expect(new Set(r.plan.order)).toEqual(new Set([...need, 'seed', ...requested]));
      }),
      { numRuns: 150, seed: 20261129 },
    );
  });
});
