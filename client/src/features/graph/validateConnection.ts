import { canConnect } from '../../../../nodes/sdk/sockets.ts';
import type { NodeDefs } from '../../api/nodeDefs.ts';
import { inputsOf, outputsOf } from './sockets.ts';
import { type ConnectionLike, type FlowEdge, type FlowNode, isWorkflowNode } from './types.ts';

export type Validity = { ok: true } | { ok: false; reason: string };

/**
 * Decides whether a wire may be drawn. The socket rule itself is the server's `canConnect`; on top of it the
 * editor refuses self-links, unknown sockets and wires that would close a cycle.
 */
export function validateConnection(
  conn: ConnectionLike,
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
  defs: NodeDefs,
): Validity {
  if (!conn.source || !conn.target || !conn.sourceHandle || !conn.targetHandle) {
    return { ok: false, reason: 'Drop the wire on a socket' };
  }
  if (conn.source === conn.target) return { ok: false, reason: 'A node cannot connect to itself' };
  const from = nodes.find((n) => n.id === conn.source);
  const to = nodes.find((n) => n.id === conn.target);
  if (!from || !to || !isWorkflowNode(from) || !isWorkflowNode(to)) {
    return { ok: false, reason: 'Both ends must be workflow nodes' };
  }
  const output = outputsOf(from, defs, edges)[conn.sourceHandle];
  if (!output)
    return {
      ok: false,
      reason: `${from.data.title ?? defs.byType[from.data.type]?.title ?? from.data.type} has no output "${conn.sourceHandle}"`,
    };
  const input = inputsOf(to, defs, edges)[conn.targetHandle];
  if (!input)
    return {
      ok: false,
      reason: `${to.data.title ?? defs.byType[to.data.type]?.title ?? to.data.type} has no input "${conn.targetHandle}"`,
    };
  const fromDef = defs.byType[from.data.type];
  const toDef = defs.byType[to.data.type];
  if (!fromDef || !toDef)
    return { ok: false, reason: 'Unknown node types cannot be wired; install the node first' };
  const compat = canConnect({ type: output.type }, { type: input.type, list: input.list });
  if (!compat.ok) return compat;
  if (createsCycle(conn.source, conn.target, edges)) {
    return { ok: false, reason: 'This wire would create a cycle' };
  }
  if (
    edges.some(
      (e) =>
        e.source === conn.source &&
        e.target === conn.target &&
        e.sourceHandle === conn.sourceHandle &&
        e.targetHandle === conn.targetHandle,
    )
  ) {
    return { ok: false, reason: 'These sockets are already connected' };
  }
  return { ok: true };
}

/** True when `target` already reaches `source`, so source→target would close a loop. */
export function createsCycle(source: string, target: string, edges: readonly FlowEdge[]): boolean {
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const list = out.get(e.source);
    if (list) list.push(e.target);
    else out.set(e.source, [e.target]);
  }
  const stack = [target];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === source) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const next of out.get(id) ?? []) stack.push(next);
  }
  return false;
}
