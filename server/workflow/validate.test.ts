import { describe, expect, it } from 'vitest';
import { createTestRegistry, testScale } from '../../tests/helpers/testNodes.ts';
import { workflow } from '../../tests/helpers/workflowBuilder.ts';
import { formatNodeError, type NodeError } from './nodeErrors.ts';
import type { WorkflowDocument } from './schema.ts';
import { type ValidateOptions, validateWorkflow } from './validate.ts';

const registry = createTestRegistry();

function errorsOf(doc: WorkflowDocument, options?: ValidateOptions): NodeError[] {
  const r = validateWorkflow(doc, registry, options);
  return r.ok ? [] : r.errors;
}

const valid = () =>
  workflow()
    .node('a', 'test/basic/number', { value: 1 })
    .node('b', 'test/basic/number', { value: 2 })
    .node('sum', 'test/basic/add')
    .node('out', 'test/basic/sink')
    .link('a.value', 'sum.a')
    .link('b.value', 'sum.b')
    .link('sum.sum', 'out.value');

describe('validateWorkflow', () => {
  it('accepts a valid workflow', () => {
    expect(validateWorkflow(valid().build(), registry)).toEqual({ ok: true });
  });

  it('unknown node type', () => {
    const doc = valid().node('x', 'acme/magic/thing').build();
    expect(errorsOf(doc)).toEqual([
      {
        nodeId: 'x',
        nodeType: 'acme/magic/thing',
        kind: 'unknown-node-type',
        message: expect.stringMatching(/unknown node type acme\/magic\/thing/),
      },
    ]);
  });

  it('missing required input', () => {
    const doc = workflow()
      .node('sum', 'test/basic/add')
      .node('out', 'test/basic/sink')
      .link('sum.sum', 'out.value')
      .build();
    expect(errorsOf(doc)).toEqual([
      expect.objectContaining({
        nodeId: 'sum',
        field: 'inputs.a',
        kind: 'missing-input',
        message: expect.stringMatching(/not connected: connect a PROMPTS output/),
      }),
    ]);
  });

  it('link to an unknown node', () => {
    const doc = valid().link('ghost.value', 'out.value').build();
    const errors = errorsOf(doc);
    expect(errors).toEqual([
      expect.objectContaining({
        nodeId: 'out',
        kind: 'unknown-node',
        field: 'inputs.value',
        message: expect.stringMatching(/node ghost, which does not exist/),
      }),
    ]);
  });

  it('link to an unknown input or from an unknown output', () => {
    const doc = valid()
      .node('c', 'test/basic/number')
      .link('c.value', 'sum.c')
      .link('c.nope', 'out.value')
      .build();
    expect(errorsOf(doc).map((e) => [e.nodeId, e.kind, e.field])).toEqual([
      ['sum', 'unknown-input', 'inputs.c'],
      ['out', 'unknown-output', 'inputs.value'],
    ]);
  });

  it('link type mismatch, with the reason from canConnect', () => {
    const imagesOut = {
      ...testScale,
      type: 'test/basic/images',
      version: '1.0.0',
      outputs: { images: { type: 'IMAGES' as const } },
      inputs: {},
      migrate: undefined,
    };
    const r = createTestRegistry([imagesOut]);
    const doc = workflow()
      .node('i', 'test/basic/images')
      .node('sum', 'test/basic/add')
      .node('out', 'test/basic/sink')
      .link('i.images', 'sum.a')
      .link('sum.sum', 'out.value')
      .build();
    const v = validateWorkflow(doc, r);
    expect(v.ok ? [] : v.errors).toEqual([
      expect.objectContaining({
        nodeId: 'sum',
        field: 'inputs.a',
        kind: 'type-mismatch',
        message: 'cannot take images of node i: IMAGES output cannot connect to a PROMPTS input',
      }),
    ]);
  });

  it('more than one link into a non-list input; several into a list input are fine', () => {
    const doc = valid().node('c', 'test/basic/number').link('c.value', 'sum.a').build();
    expect(errorsOf(doc)).toEqual([
      expect.objectContaining({ nodeId: 'sum', field: 'inputs.a', kind: 'too-many-links' }),
    ]);
    const list = valid()
      .node('total', 'test/basic/sum')
      .node('o2', 'test/basic/sink')
      .link('a.value', 'total.values')
      .link('b.value', 'total.values')
      .link('total.sum', 'o2.value')
      .build();
    expect(errorsOf(list)).toEqual([]);
  });

  it('param out of range, of the wrong type, or unknown, mapped to field paths', () => {
    const doc = valid().node('slow', 'test/basic/slow', { steps: 0, stepMs: 'fast', speed: 2 }).build();
    const lines = errorsOf(doc).map(formatNodeError);
    expect(lines).toEqual([
      'node slow (test/basic/slow) params.speed: unknown param (params: steps, stepMs)',
      'node slow (test/basic/slow) params.steps: must be ≥ 1',
      'node slow (test/basic/slow) params.stepMs: must be a number (got "fast")',
    ]);
    expect(
      errorsOf(valid().node('s2', 'test/basic/slow', { steps: 1.5 }).build()).map(formatNodeError),
    ).toEqual(['node s2 (test/basic/slow) params.steps: must be a whole number (got 1.5)']);
  });

  it('a cycle, naming the nodes in it', () => {
    const doc = workflow()
      .node('a', 'test/basic/add')
      .node('b', 'test/basic/add')
      .node('c', 'test/basic/add')
      .node('out', 'test/basic/sink')
      .link('a.sum', 'b.a')
      .link('b.sum', 'c.a')
      .link('c.sum', 'a.a')
      .link('c.sum', 'out.value')
      .build();
    const errors = errorsOf(doc);
    expect(errors.map((e) => e.nodeId).sort()).toEqual(['a', 'b', 'c']);
    expect(errors.every((e) => e.kind === 'cycle')).toBe(true);
    expect(errors[0]!.message).toMatch(/part of a cycle: (a → b → c → a|b → c → a → b|c → a → b → c)/);
  });

  it('no output node', () => {
    const doc = workflow().node('a', 'test/basic/number').build();
    expect(errorsOf(doc)).toEqual([
      { nodeId: null, kind: 'no-output', message: expect.stringMatching(/no output node/) },
    ]);
  });

  it('requested outputs that are not output nodes, and only their ancestors are checked', () => {
    const doc = valid()
      .node('broken', 'test/basic/slow', { steps: -1 })
      .node('o2', 'test/basic/sink')
      .link('broken.out', 'o2.value')
      .build();
    expect(errorsOf(doc, { outputs: ['out'] })).toEqual([]);
    expect(errorsOf(doc, { outputs: ['o2'] }).map((e) => e.nodeId)).toEqual(['broken']);
    expect(errorsOf(doc, { outputs: ['sum', 'nope'] }).map((e) => [e.nodeId, e.kind])).toEqual([
      ['sum', 'not-an-output'],
      [null, 'not-an-output'],
    ]);
  });

  it('node saved with a version that is not semver', () => {
    const doc = valid().node('s', 'test/basic/scale', {}, { version: 'v2' }).link('a.value', 's.in').build();
    expect(errorsOf(doc)).toEqual([
      expect.objectContaining({
        nodeId: 's',
        field: 'version',
        kind: 'node-version',
        message: expect.stringMatching(/"v2" is not semver/),
      }),
    ]);
  });

  it('node saved with an incompatible version', () => {
    const doc = valid()
      .node('s', 'test/basic/scale', {}, { version: '0.9.0' })
      .link('a.value', 's.in')
      .build();
    expect(errorsOf(doc)).toEqual([
      expect.objectContaining({
        nodeId: 's',
        field: 'version',
        kind: 'node-version',
        message: expect.stringMatching(/0\.9\.0, incompatible with 2\.1\.0/),
      }),
    ]);
  });

  it('bypass: passes a matching input through, or says why it cannot', () => {
    const ok = valid()
      .node('slow', 'test/basic/slow', { steps: -5 }, { bypass: true })
      .node('o2', 'test/basic/sink')
      .link('a.value', 'slow.in')
      .link('slow.out', 'o2.value')
      .build();
    expect(errorsOf(ok)).toEqual([]);
    const bad = valid()
      .node('n', 'test/basic/number', {}, { bypass: true })
      .node('o2', 'test/basic/sink')
      .link('n.value', 'o2.value')
      .build();
    expect(errorsOf(bad)).toEqual([
      expect.objectContaining({
        nodeId: 'n',
        kind: 'bypass',
        field: 'outputs.value',
        message: expect.stringMatching(/no connected input of type PROMPTS/),
      }),
    ]);
  });

  it('returns every problem at once', () => {
    const doc = workflow()
      .node('x', 'acme/a/b')
      .node('sum', 'test/basic/add', { offset: 'x' })
      .node('a', 'test/basic/number')
      .link('a.value', 'sum.b')
      .build();
    expect(
      errorsOf(doc)
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['bad-param', 'missing-input', 'no-output', 'unknown-node-type']);
  });
});
