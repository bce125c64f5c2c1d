import { describe, expect, it } from 'vitest';
import type { WorkflowDocument } from '../../../../server/workflow/schema.ts';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { createGraphStore } from '../graph/graphStore.ts';
import { isWorkflowNode } from '../graph/types.ts';
import { validateConnection } from '../graph/validateConnection.ts';
import { fromDocument, toDocument } from './document.ts';

const doc: WorkflowDocument = {
  format: 'loraflow.workflow',
  version: 1,
  nodes: [
    {
      id: '1',
      type: 'test/load-images',
      version: '1.0.0',
      params: { folder: 'dogs', recursive: true },
      position: { x: 0.125, y: -37.5 },
    },
    {
      id: '2',
      type: 'test/resize',
      version: '1.2.0',
      title: 'Square 768',
      params: { size: 768, mode: 'pad', extra: { nested: [1, 2, { deep: 'x' }] } },
      position: { x: 310.3333333333333, y: 1e-7 },
      bypass: true,
    },
    {
      id: '7',
      type: 'vendor/pack/mystery',
      version: '3.1.4',
      params: { secretSauce: [3, 'a'], strength: 0.5 },
      position: { x: 640, y: 0 },
      size: { width: 300, height: 180 },
    },
    { id: '9', type: 'test/save', version: '1.0.0', params: { name: 'out' }, position: { x: 960, y: 20 } },
  ],
  links: [
    { id: 'l1', from: { node: '1', output: 'images' }, to: { node: '2', input: 'images' } },
    { id: 'l2', from: { node: '2', output: 'images' }, to: { node: '7', input: 'pixels' } },
    { id: 'l3', from: { node: '7', output: 'result' }, to: { node: '9', input: 'value' } },
  ],
  groups: [
    { id: 'g1', title: 'Prep', bounds: { x: -20, y: -80, width: 700, height: 400 }, color: '#335577' },
  ],
  meta: { name: 'dogs', description: 'a test', created_with: 'someone else', author: 'me' },
};

describe('workflow document ↔ graph', () => {
  it('round-trips positions, params, titles, bypass, groups, meta and unknown nodes exactly', () => {
    const g = fromDocument(structuredClone(doc));
    if (!g.ok) throw new Error(JSON.stringify(g.errors));
    expect(toDocument(g)).toEqual(doc);
  });

  it('round-trips through the store and survives edits elsewhere', () => {
    const defs = fixtureDefs();
    const store = createGraphStore(() => defs);
    const g = fromDocument(JSON.stringify(doc));
    if (!g.ok) throw new Error('load failed');
    store.getState().load(g.nodes, g.edges, g.meta, null);
    // Selecting and measuring (React Flow runtime state) must never reach the file.
    store.getState().onNodesChange([
      { type: 'select', id: '2', selected: true },
      { type: 'dimensions', id: '2', dimensions: { width: 220, height: 140 } },
    ]);
    const out = toDocument({ ...store.getState() });
    expect(out).toEqual(doc);
    expect(JSON.stringify(out)).not.toMatch(/"selected"|"measured"|"zIndex"|"dragging"/);
  });

  it('keeps the wires of a placeholder but refuses new ones to it', () => {
    const defs = fixtureDefs();
    const g = fromDocument(doc);
    if (!g.ok) throw new Error('load failed');
    const placeholder = g.nodes.find((n) => n.id === '7');
    expect(placeholder && isWorkflowNode(placeholder) && placeholder.data.type).toBe('vendor/pack/mystery');
    const verdict = validateConnection(
      { source: '1', sourceHandle: 'images', target: '7', targetHandle: 'pixels' },
      g.nodes,
      [],
      defs,
    );
    expect(verdict.ok).toBe(false);
  });

  it('reports why a broken file cannot load', () => {
    const bad = fromDocument({ ...doc, nodes: [{ ...doc.nodes[0], position: { x: 'left' } }] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors[0]!.message).toBeTruthy();
    const notJson = fromDocument('{nope');
    expect(notJson.ok).toBe(false);
  });
});
