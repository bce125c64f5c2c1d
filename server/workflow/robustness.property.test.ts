import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTestRegistry, testNodes } from '../../tests/helpers/testNodes.ts';
import { loadWorkflow } from './load.ts';
import { NodeError } from './nodeErrors.ts';
import type { WorkflowDocument } from './schema.ts';
import { validateWorkflow } from './validate.ts';

const registry = createTestRegistry();
const types = [...testNodes.map((n) => n.type), 'acme/unknown/node'];
const sockets = ['value', 'sum', 'out', 'a', 'b', 'in', 'values', 'images', 'nope'];

const docArb = fc
  .record({
    nodes: fc.array(
      fc.record({
        type: fc.constantFrom(...types),
        params: fc.dictionary(fc.constantFrom('value', 'offset', 'steps', 'factor', 'x'), fc.jsonValue(), {
          maxKeys: 2,
        }),
        bypass: fc.boolean(),
      }),
      { maxLength: 12 },
    ),
    links: fc.array(
      fc.record({
        from: fc.nat(),
        out: fc.constantFrom(...sockets),
        to: fc.nat(),
        input: fc.constantFrom(...sockets),
      }),
      { maxLength: 20 },
    ),
  })
  .map(({ nodes, links }): WorkflowDocument => {
    const n = Math.max(1, nodes.length);
    return {
      format: 'loraflow.workflow',
      version: 1,
      nodes: nodes.map((node, i) => ({
        id: `n${i}`,
        type: node.type,
        version: node.type === 'test/basic/scale' ? '2.1.0' : '1.0.0',
        params: node.params,
        position: { x: i, y: 0 },
        bypass: node.bypass,
      })),
      links: links.map((l, i) => ({
        id: `l${i}`,
        from: { node: `n${l.from % (n + 1)}`, output: l.out },
        to: { node: `n${l.to % (n + 1)}`, input: l.input },
      })),
      meta: { name: 'fuzz', description: '', created_with: 'fast-check' },
    };
  });

describe('robustness', () => {
  it('validation never throws and every error is well-formed and names an existing node or none', () => {
    fc.assert(
      fc.property(docArb, (doc) => {
        const r = validateWorkflow(doc, registry);
        if (r.ok) return;
        const ids = new Set(doc.nodes.map((n) => n.id));
        for (const e of r.errors) {
          expect(NodeError.safeParse(e).success).toBe(true);
          if (e.nodeId !== null) expect(ids.has(e.nodeId)).toBe(true);
          expect(e.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300, seed: 4242 },
    );
  });

  it('loading arbitrary JSON never throws: it either loads or explains why not', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          docArb.map((d) => ({ ...d, nodes: [...d.nodes, 7] })),
        ),
        (value) => {
          const r = loadWorkflow(value, registry);
          if (!r.ok) expect(r.errors.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300, seed: 4242 },
    );
  });
});
