import { describe, expect, it } from 'vitest';
import { FALLBACK_SOCKET_COLOR } from '../../api/nodeDefs.ts';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { type EdgeStyleCache, styleEdges } from './edgeStyles.ts';
import type { FlowEdge, FlowNode } from './types.ts';

const defs = fixtureDefs();
const node = (id: string, type: string, x = 0): FlowNode => ({
  id,
  type: 'workflow',
  position: { x, y: 0 },
  data: { type, version: '1.0.0', params: {} },
});
const edge = (id: string, source: string, target: string): FlowEdge => ({
  id,
  source,
  sourceHandle: 'images',
  target,
  targetHandle: 'images',
});

describe('styleEdges', () => {
  const nodes = [node('1', 'test/load-images'), node('2', 'test/resize'), node('3', 'unknown/type')];
  const edges = [edge('a', '1', '2'), edge('b', '3', '2')];

  it('colours an edge by its source socket type, unknown sources in the fallback colour', () => {
    const styled = styleEdges(edges, nodes, defs, new WeakMap());
    expect(styled.map((e) => e.style?.stroke)).toEqual(['#64b5f6', FALLBACK_SOCKET_COLOR]);
    expect(styled[0]).toMatchObject({ id: 'a', source: '1', target: '2', style: { strokeWidth: 2 } });
  });

  it('keeps the styled objects when only node positions change, and restyles a changed edge', () => {
    const cache: EdgeStyleCache = new WeakMap();
    const first = styleEdges(edges, nodes, defs, cache);
    const moved = nodes.map((n) => ({ ...n, position: { x: n.position.x + 10, y: 5 } }));
    const second = styleEdges(edges, moved, defs, cache);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toBe(first[1]);
    const selected = { ...edges[0]!, selected: true };
    const third = styleEdges([selected, edges[1]!], moved, defs, cache);
    expect(third[0]).not.toBe(first[0]);
    expect(third[0]).toMatchObject({ selected: true, style: { stroke: '#64b5f6' } });
    expect(third[1]).toBe(first[1]);
  });
});
