import { describe, expect, it } from 'vitest';
import { createTestRegistry } from '../../tests/helpers/testNodes.ts';
import { workflow } from '../../tests/helpers/workflowBuilder.ts';
import { planWorkflow } from './plan.ts';

const registry = createTestRegistry();

/** Diamond a → (b, c) → d → out, plus an unrelated branch x → out2, declared in scrambled order. */
const doc = () =>
  workflow()
    .node('out', 'test/basic/sink')
    .node('d', 'test/basic/add')
    .node('c', 'test/basic/add')
    .node('x', 'test/basic/number')
    .node('b', 'test/basic/add')
    .node('a', 'test/basic/number')
    .node('out2', 'test/basic/sink')
    .node('orphan', 'test/basic/number')
    .link('a.value', 'b.a')
    .link('a.value', 'c.a')
    .link('b.sum', 'd.a')
    .link('c.sum', 'd.b')
    .link('d.sum', 'out.value')
    .link('x.value', 'out2.value')
    .build();

function order(outputs?: string[]): string[] {
  const r = planWorkflow(doc(), registry, outputs);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan.order;
}

describe('planWorkflow', () => {
  it('schedules every output node and its ancestors, never a node no output needs', () => {
    const o = order();
    expect(new Set(o)).toEqual(new Set(['a', 'b', 'c', 'd', 'out', 'x', 'out2']));
  });

  it('orders parents before children, ties in document order', () => {
    const o = order();
    const parentFirst = (p: string, c: string) => expect(o.indexOf(p)).toBeLessThan(o.indexOf(c));
    parentFirst('a', 'b');
    parentFirst('a', 'c');
    parentFirst('b', 'd');
    parentFirst('c', 'd');
    parentFirst('d', 'out');
    parentFirst('x', 'out2');
    expect(o).toEqual(['x', 'a', 'out2', 'c', 'b', 'd', 'out']);
  });

  it('selects only the ancestors of the requested outputs', () => {
    expect(order(['out2'])).toEqual(['x', 'out2']);
    expect(order(['out'])).toEqual(['a', 'c', 'b', 'd', 'out']);
  });

  it('reports validation errors instead of a plan', () => {
    const r = planWorkflow(doc(), registry, ['d']);
    expect(r).toEqual({
      ok: false,
      errors: [expect.objectContaining({ nodeId: 'd', kind: 'not-an-output' })],
    });
  });
});
