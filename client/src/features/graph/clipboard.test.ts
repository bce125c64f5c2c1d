import { describe, expect, it } from 'vitest';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { createGraphStore } from './graphStore.ts';
import { isWorkflowNode } from './types.ts';

describe('copy/paste', () => {
  it('pastes selected nodes with fresh ids, keeping only the links between them', () => {
    const defs = fixtureDefs();
    const store = createGraphStore(() => defs);
    const s = () => store.getState();
    const load = s().addNode('test/load-images', { x: 0, y: 0 })!;
    const resize = s().addNode('test/resize', { x: 300, y: 0 })!;
    const train = s().addNode('test/train', { x: 600, y: 0 })!;
    s().connect({ source: load, sourceHandle: 'images', target: resize, targetHandle: 'images' });
    s().connect({ source: resize, sourceHandle: 'images', target: train, targetHandle: 'images' });
    s().setParam(resize, 'size', 768);
    s().selectOnly([load, resize]);
    const clip = s().copy()!;
    expect(clip.nodes.map((n) => n.id)).toEqual([load, resize]);
    expect(clip.edges).toHaveLength(1);
    expect(JSON.stringify(clip)).not.toContain('"selected"');

    s().paste(clip, { x: 1000, y: 500 });
    const nodes = s().nodes.filter(isWorkflowNode);
    expect(nodes).toHaveLength(5);
    const pasted = nodes.slice(3);
    expect(new Set(pasted.map((n) => n.id)).size).toBe(2);
    for (const n of pasted) expect([load, resize, train]).not.toContain(n.id);
    expect(pasted.map((n) => n.position)).toEqual([
      { x: 1000, y: 500 },
      { x: 1300, y: 500 },
    ]);
    expect(pasted[1]!.data.params.size).toBe(768);
    expect(pasted.every((n) => n.selected)).toBe(true);
    expect(nodes.slice(0, 3).some((n) => n.selected)).toBe(false);
    const newEdges = s().edges.slice(2);
    expect(newEdges).toHaveLength(1);
    expect(newEdges[0]).toMatchObject({
      source: pasted[0]!.id,
      target: pasted[1]!.id,
      sourceHandle: 'images',
      targetHandle: 'images',
    });
    expect(new Set(s().edges.map((e) => e.id)).size).toBe(3);

    // Pasting is undoable as one step, and a second paste gets different ids again.
    s().undo();
    expect(s().nodes).toHaveLength(3);
    s().paste(clip);
    s().paste(clip);
    expect(new Set(s().nodes.map((n) => n.id)).size).toBe(7);
  });

  it('does nothing without a selection', () => {
    const defs = fixtureDefs();
    const store = createGraphStore(() => defs);
    store.getState().addNode('test/resize', { x: 0, y: 0 });
    store.getState().selectOnly([]);
    expect(store.getState().copy()).toBeNull();
  });
});
