import { describe, expect, it } from 'vitest';
import { applyAssignments, parseSetArg } from './setParams.ts';

describe('--set', () => {
  it('parses JSON values and falls back to strings', () => {
    const r = (s: string) => {
      const p = parseSetArg(s);
      if (!p.ok) throw new Error(p.reason);
      return p.assignment;
    };
    expect(r('n1.steps=30')).toMatchObject({ nodeId: 'n1', param: 'steps', value: 30 });
    expect(r('n1.flag=true').value).toBe(true);
    expect(r('n1.prompt=a photo of a cat').value).toBe('a photo of a cat');
    expect(r('n1.prompt="42"').value).toBe('42');
    expect(r('n1.eq=a=b').value).toBe('a=b');
    expect(r('my.node.size=[512,768]')).toMatchObject({
      nodeId: 'my.node',
      param: 'size',
      value: [512, 768],
    });
    expect(parseSetArg('novalue').ok).toBe(false);
    expect(parseSetArg('noparam=1').ok).toBe(false);
    expect(parseSetArg('n1.=1').ok).toBe(false);
  });

  it('applies values and reports unknown nodes and params', () => {
    const nodes = [
      { id: 'a', type: 't/x/y', params: { steps: 1 } },
      { id: 'b', type: 't/x/unknown', params: {} },
    ];
    const parse = (s: string) => {
      const p = parseSetArg(s);
      if (!p.ok) throw new Error(p.reason);
      return p.assignment;
    };
    const errors = applyAssignments(
      nodes,
      [parse('a.steps=5'), parse('a.stpes=5'), parse('zz.steps=1'), parse('b.any=1')],
      (type) => (type === 't/x/y' ? ['steps', 'seed'] : undefined),
    );
    expect(nodes[0]?.params).toEqual({ steps: 5 });
    expect(nodes[1]?.params).toEqual({ any: 1 });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('has no param "stpes" (params: steps, seed)');
    expect(errors[1]).toContain('no node with id "zz"');
  });
});
