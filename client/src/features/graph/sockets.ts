import type { NodeDefs, NodeInputDef, NodeOutputDef } from '../../api/nodeDefs.ts';
import type { FlowEdge, WorkflowFlowNode } from './types.ts';

/** Socket type shown for sockets of placeholder nodes, whose definition is unknown. */
export const UNKNOWN_SOCKET = 'UNKNOWN';

/**
 * Inputs of a node: from its definition, or (for a placeholder of an unknown type) inferred from the links
 * that reach it, so the wires of a file survive a round trip.
 */
export function inputsOf(
  node: WorkflowFlowNode,
  defs: NodeDefs,
  edges: readonly FlowEdge[],
): Record<string, NodeInputDef> {
  const def = defs.byType[node.data.type];
  if (def) return def.inputs;
  const out: Record<string, NodeInputDef> = {};
  for (const e of edges) {
    if (e.target === node.id && e.targetHandle) {
      out[e.targetHandle] = { type: UNKNOWN_SOCKET, optional: true, list: true };
    }
  }
  return out;
}

export function outputsOf(
  node: WorkflowFlowNode,
  defs: NodeDefs,
  edges: readonly FlowEdge[],
): Record<string, NodeOutputDef> {
  const def = defs.byType[node.data.type];
  if (def) return def.outputs;
  const out: Record<string, NodeOutputDef> = {};
  for (const e of edges) {
    if (e.source === node.id && e.sourceHandle) out[e.sourceHandle] = { type: UNKNOWN_SOCKET };
  }
  return out;
}
