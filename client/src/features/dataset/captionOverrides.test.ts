import { describe, expect, it } from 'vitest';
import { indexNodeDefs, NodesResponse } from '../../api/nodeDefs.ts';
import { fixtureResponse } from '../../test/fixtureDefs.ts';
import type { FlowNode } from '../graph/types.ts';
import { captionEditDefs, findCaptionEditNode, overridesOf, withOverride } from './captionOverrides.ts';

const defs = indexNodeDefs(
  NodesResponse.parse({
    ...fixtureResponse,
    nodes: [
      ...fixtureResponse.nodes,
      {
        type: 'x/caption/edit',
        version: '1.0.0',
        title: 'Caption Edit',
        inputs: { images: { type: 'IMAGES' } },
        outputs: { images: { type: 'IMAGES' } },
        params: {
          type: 'object',
          properties: {
            overrides: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
          },
        },
      },
    ],
  }),
);

describe('caption overrides', () => {
  it('recognises caption edit nodes by their definition', () => {
    expect(captionEditDefs(defs).map((d) => d.type)).toEqual(['x/caption/edit']);
  });
  it('finds the caption edit node wired after a dataset node', () => {
    const nodes: FlowNode[] = [
      {
        id: '1',
        type: 'workflow',
        position: { x: 0, y: 0 },
        data: { type: 'test/load-images', version: '1.0.0', params: {} },
      },
      {
        id: '2',
        type: 'workflow',
        position: { x: 0, y: 0 },
        data: { type: 'test/resize', version: '1.2.0', params: {} },
      },
      {
        id: '3',
        type: 'workflow',
        position: { x: 0, y: 0 },
        data: {
          type: 'x/caption/edit',
          version: '1.0.0',
          params: { overrides: { ['a'.repeat(64)]: 'dog' } },
        },
      },
    ];
    const edges = [
      { id: 'l1', source: '1', target: '2', sourceHandle: 'images', targetHandle: 'images' },
      { id: 'l2', source: '1', target: '3', sourceHandle: 'images', targetHandle: 'images' },
    ];
    const found = findCaptionEditNode('1', nodes, edges, defs);
    expect(found?.id).toBe('3');
    expect(findCaptionEditNode('3', nodes, edges, defs)?.id).toBe('3');
    expect(findCaptionEditNode('2', nodes, edges, defs)).toBeNull();
    expect(overridesOf(found)).toEqual({ ['a'.repeat(64)]: 'dog' });
  });
  it('stores an override keyed by image hash and drops it when edited back', () => {
    const h = 'b'.repeat(64);
    const o = withOverride({}, h, 'a cat, sitting', 'a cat');
    expect(o).toEqual({ [h]: 'a cat, sitting' });
    expect(withOverride(o, h, 'a cat', 'a cat')).toEqual({});
  });
});
