import { describe, expect, it } from 'vitest';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { createGraphStore, isDirty } from './graphStore.ts';
import { isWorkflowNode, type WorkflowFlowNode } from './types.ts';

function setup() {
  const defs = fixtureDefs();
  const store = createGraphStore(() => defs);
  return { store, s: () => store.getState() };
}

function wf(nodes: ReturnType<ReturnType<typeof setup>['s']>['nodes'], id: string): WorkflowFlowNode {
  const n = nodes.find((x) => x.id === id);
  if (!n || !isWorkflowNode(n)) throw new Error(`no workflow node ${id}`);
  return n;
}

describe('graph store', () => {
  it('adds nodes with default params from the JSON Schema', () => {
    const { store, s } = setup();
    const id = store.getState().addNode('test/resize', { x: 10.5, y: -3 })!;
    const node = wf(s().nodes, id);
    expect(node.data).toEqual({ type: 'test/resize', version: '1.2.0', params: { size: 512, mode: 'crop' } });
    expect(node.position).toEqual({ x: 10.5, y: -3 });
    expect(store.getState().addNode('nope/unknown', { x: 0, y: 0 })).toBeNull();
  });

  it('connects compatible sockets and refuses incompatible ones with a reason', () => {
    const { s } = setup();
    const load = s().addNode('test/load-images', { x: 0, y: 0 })!;
    const model = s().addNode('test/load-model', { x: 0, y: 200 })!;
    const train = s().addNode('test/train', { x: 300, y: 0 })!;
    expect(
      s().connect({ source: load, sourceHandle: 'images', target: train, targetHandle: 'images' }),
    ).toEqual({
      ok: true,
    });
    const refused = s().connect({
      source: load,
      sourceHandle: 'images',
      target: train,
      targetHandle: 'model',
    });
    expect(refused).toEqual({ ok: false, reason: 'IMAGES output cannot connect to a MODEL input' });
    expect(s().edges).toHaveLength(1);
    expect(
      s().connect({ source: model, sourceHandle: 'model', target: train, targetHandle: 'model' }).ok,
    ).toBe(true);
    expect(s().edges).toHaveLength(2);
  });

  it('replaces the wire of a single input but keeps several on a list input', () => {
    const { s } = setup();
    const a = s().addNode('test/load-images', { x: 0, y: 0 })!;
    const b = s().addNode('test/load-images', { x: 0, y: 100 })!;
    const r = s().addNode('test/resize', { x: 300, y: 0 })!;
    const t = s().addNode('test/train', { x: 600, y: 0 })!;
    s().connect({ source: a, sourceHandle: 'images', target: r, targetHandle: 'images' });
    s().connect({ source: b, sourceHandle: 'images', target: r, targetHandle: 'images' });
    expect(
      s()
        .edges.filter((e) => e.target === r)
        .map((e) => e.source),
    ).toEqual([b]);
    s().connect({ source: a, sourceHandle: 'images', target: t, targetHandle: 'regularization' });
    s().connect({ source: b, sourceHandle: 'images', target: t, targetHandle: 'regularization' });
    expect(s().edges.filter((e) => e.target === t)).toHaveLength(2);
  });

  it('refuses a wire that closes a cycle', () => {
    const { s } = setup();
    const a = s().addNode('test/resize', { x: 0, y: 0 })!;
    const b = s().addNode('test/resize', { x: 300, y: 0 })!;
    s().connect({ source: a, sourceHandle: 'images', target: b, targetHandle: 'images' });
    expect(s().connect({ source: b, sourceHandle: 'images', target: a, targetHandle: 'images' })).toEqual({
      ok: false,
      reason: 'This wire would create a cycle',
    });
  });

  it('deletes selected nodes with their wires in one undoable step', () => {
    const { s } = setup();
    const a = s().addNode('test/load-images', { x: 0, y: 0 })!;
    const r = s().addNode('test/resize', { x: 300, y: 0 })!;
    s().connect({ source: a, sourceHandle: 'images', target: r, targetHandle: 'images' });
    s().selectOnly([r]);
    s().deleteSelected();
    expect(s().nodes.map((n) => n.id)).toEqual([a]);
    expect(s().edges).toEqual([]);
    s().undo();
    expect(s().nodes.map((n) => n.id)).toEqual([a, r]);
    expect(s().edges).toHaveLength(1);
  });

  it('undoes and redoes every kind of edit, coalescing typing into one field', () => {
    const { s } = setup();
    const r = s().addNode('test/resize', { x: 0, y: 0 })!;
    s().setParam(r, 'size', 5);
    s().setParam(r, 'size', 51);
    s().setParam(r, 'size', 512);
    s().setParam(r, 'mode', 'pad');
    s().toggleBypass([r]);
    expect(wf(s().nodes, r).data.bypass).toBe(true);
    s().undo();
    expect(wf(s().nodes, r).data.bypass).toBeUndefined();
    s().undo();
    expect(wf(s().nodes, r).data.params.mode).toBe('crop');
    s().undo();
    expect(wf(s().nodes, r).data.params.size).toBe(512); // the default, before the three keystrokes
    s().undo();
    expect(s().nodes).toEqual([]);
    s().undo(); // nothing left: no-op
    s().redo();
    s().redo();
    expect(wf(s().nodes, r).data.params.size).toBe(512);
    s().redo();
    s().redo();
    expect(wf(s().nodes, r).data).toMatchObject({ params: { mode: 'pad' }, bypass: true });
    // A new edit clears the redo stack.
    s().undo();
    s().setTitle(r, 'Mine');
    s().redo();
    expect(wf(s().nodes, r).data.bypass).toBeUndefined();
  });

  it('records a drag as one undo step and moves the nodes inside a dragged group', () => {
    const { s } = setup();
    const r = s().addNode('test/resize', { x: 50, y: 50 })!;
    const g = s().addGroup({ x: 0, y: 0, width: 400, height: 300 }, 'Prep');
    const outside = s().addNode('test/resize', { x: 900, y: 900 })!;
    s().onNodesChange([{ type: 'position', id: g, position: { x: 10, y: 0 }, dragging: true }]);
    s().onNodesChange([{ type: 'position', id: g, position: { x: 30, y: 5 }, dragging: true }]);
    s().onNodesChange([{ type: 'position', id: g, position: { x: 30, y: 5 }, dragging: false }]);
    expect(wf(s().nodes, r).position).toEqual({ x: 80, y: 55 });
    expect(wf(s().nodes, outside).position).toEqual({ x: 900, y: 900 });
    s().undo();
    expect(wf(s().nodes, r).position).toEqual({ x: 50, y: 50 });
    expect(s().nodes.find((n) => n.id === g)!.position).toEqual({ x: 0, y: 0 });
  });

  it('does not record selection changes in history', () => {
    const { s } = setup();
    const r = s().addNode('test/resize', { x: 0, y: 0 })!;
    const before = s().past.length;
    s().onNodesChange([{ type: 'select', id: r, selected: true }]);
    expect(s().past.length).toBe(before);
    expect(s().nodes[0]!.selected).toBe(true);
  });

  it('tracks unsaved changes, and undoing back to the saved state is clean', () => {
    const { s } = setup();
    const r = s().addNode('test/resize', { x: 0, y: 0 })!;
    expect(isDirty(s())).toBe(true);
    s().markSaved('mine');
    expect(isDirty(s())).toBe(false);
    expect(s().meta.name).toBe('mine');
    s().setParam(r, 'size', 1024);
    expect(isDirty(s())).toBe(true);
    s().undo();
    expect(isDirty(s())).toBe(false);
  });
});

describe('bypass in the store', () => {
  it('bypasses only nodes with a pass-through and toggles back', () => {
    const { s } = setup();
    const load = s().addNode('test/load-images', { x: 0, y: 0 })!;
    const resize = s().addNode('test/resize', { x: 300, y: 0 })!;
    s().toggleBypass([load, resize]);
    expect(wf(s().nodes, load).data.bypass).toBeUndefined();
    expect(wf(s().nodes, resize).data.bypass).toBe(true);
    s().toggleBypass([resize]);
    expect(wf(s().nodes, resize).data.bypass).toBeUndefined();
  });
});
