import { FALLBACK_SOCKET_COLOR, type NodeDefs, socketColor } from '../../api/nodeDefs.ts';
import { outputsOf } from './sockets.ts';
import { type FlowEdge, type FlowNode, isWorkflowNode } from './types.ts';

/** Styled copies of edges, kept while an edge and its colour stay the same. */
export type EdgeStyleCache = WeakMap<FlowEdge, { color: string; styled: FlowEdge }>;

/**
 * Edges coloured by the type of their source socket. An edge whose object and colour are unchanged keeps
 * the styled copy it had, so that moving a node (a new `nodes` array every drag frame) does not hand React
 * Flow 200 new edge objects to re-render.
 */
export function styleEdges(
  edges: readonly FlowEdge[],
  nodes: readonly FlowNode[],
  defs: NodeDefs,
  cache: EdgeStyleCache,
): FlowEdge[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return edges.map((e) => {
    const src = byId.get(e.source);
    const type =
      src && isWorkflowNode(src) ? outputsOf(src, defs, edges)[e.sourceHandle ?? '']?.type : undefined;
    const color = type ? socketColor(defs, type) : FALLBACK_SOCKET_COLOR;
    const hit = cache.get(e);
    if (hit?.color === color) return hit.styled;
    const styled = { ...e, style: { stroke: color, strokeWidth: 2 } };
    cache.set(e, { color, styled });
    return styled;
  });
}
