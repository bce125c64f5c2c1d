import { describe, expect, it } from 'vitest';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { createGraphStore } from './graphStore.ts';
import { parseClipboard } from './parseClipboard.ts';

describe('pasting text from the system clipboard', () => {
  it('accepts nodes copied in another tab and keeps their internal links', () => {
    const defs = fixtureDefs();
    const source = createGraphStore(() => defs);
    const a = source.getState().addNode('test/load-images', { x: 0, y: 0 })!;
    const b = source.getState().addNode('test/resize', { x: 300, y: 0 })!;
    source.getState().connect({ source: a, sourceHandle: 'images', target: b, targetHandle: 'images' });
    source.getState().selectOnly([a, b]);
    const text = JSON.stringify(source.getState().copy());

    const target = createGraphStore(() => defs);
    target.getState().addNode('test/save', { x: 0, y: 0 });
    const clip = parseClipboard(text);
    expect(clip?.nodes).toHaveLength(2);
    target.getState().paste(clip!, { x: 100, y: 100 });
    expect(target.getState().nodes).toHaveLength(3);
    expect(target.getState().edges).toHaveLength(1);
    expect(new Set(target.getState().nodes.map((n) => n.id)).size).toBe(3);
  });

  it('accepts a workflow document and rejects anything else', () => {
    const doc = {
      format: 'loraflow.workflow',
      version: 1,
      nodes: [
        { id: '1', type: 'test/resize', version: '1.2.0', params: { size: 64 }, position: { x: 5, y: 5 } },
      ],
      links: [],
      meta: { name: 'x', description: '', created_with: 't' },
    };
    expect(parseClipboard(JSON.stringify(doc))?.nodes).toHaveLength(1);
    expect(parseClipboard('hello')).toBeNull();
    expect(parseClipboard('{"format":"loraflow.clipboard","nodes":[{"id":"1"}],"edges":[]}')).toBeNull();
  });
});
