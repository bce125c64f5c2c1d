import type { XYPosition } from '@xyflow/react';
import { idAllocator } from './ids.ts';
import { type FlowEdge, type FlowNode, isWorkflowNode } from './types.ts';

/** What Ctrl+C puts on the clipboard: the selected nodes and the links between them. */
export type ClipboardData = {
  format: 'loraflow.clipboard';
  nodes: FlowNode[];
  edges: FlowEdge[];
};

export function copySelection(nodes: readonly FlowNode[], edges: readonly FlowEdge[]): ClipboardData | null {
  const selected = nodes.filter((n) => n.selected);
  if (selected.length === 0) return null;
  const ids = new Set(selected.map((n) => n.id));
  return {
    format: 'loraflow.clipboard',
    nodes: selected.map((n) => structuredClone(stripRuntime(n))),
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => structuredClone(stripEdge(e))),
  };
}

/**
 * New nodes and links for a paste: fresh ids, internal links remapped, placed with the copy's top-left corner
 * at `at` (or offset by 40 px), and selected so they can be moved together.
 */
export function pasteClipboard(
  data: ClipboardData,
  existingNodes: readonly FlowNode[],
  existingEdges: readonly FlowEdge[],
  at?: XYPosition,
): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const newNodeId = idAllocator(
    '',
    existingNodes.filter(isWorkflowNode).map((n) => n.id),
  );
  const newGroupId = idAllocator(
    'g',
    existingNodes.map((n) => n.id),
  );
  const newEdgeId = idAllocator(
    'l',
    existingEdges.map((e) => e.id),
  );
  const minX = Math.min(...data.nodes.map((n) => n.position.x));
  const minY = Math.min(...data.nodes.map((n) => n.position.y));
  const dx = at ? at.x - minX : 40;
  const dy = at ? at.y - minY : 40;
  const idMap = new Map<string, string>();
  const nodes = data.nodes.map((n): FlowNode => {
    const id = n.type === 'group' ? newGroupId() : newNodeId();
    idMap.set(n.id, id);
    return {
      ...structuredClone(n),
      id,
      selected: true,
      position: { x: n.position.x + dx, y: n.position.y + dy },
    };
  });
  const edges = data.edges.map((e): FlowEdge => {
    const source = idMap.get(e.source)!;
    const target = idMap.get(e.target)!;
    return { ...structuredClone(e), id: newEdgeId(), source, target, selected: false };
  });
  return { nodes, edges };
}

function stripRuntime(n: FlowNode): FlowNode {
  const { selected: _s, dragging: _d, measured: _m, ...rest } = n;
  return rest as FlowNode;
}

function stripEdge(e: FlowEdge): FlowEdge {
  const { selected: _s, ...rest } = e;
  return rest;
}
