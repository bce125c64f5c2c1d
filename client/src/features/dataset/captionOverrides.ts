import type { NodeDef, NodeDefs } from '../../api/nodeDefs.ts';
import type { FlowEdge, FlowNode, WorkflowFlowNode } from '../graph/types.ts';
import { isWorkflowNode } from '../graph/types.ts';

export const OVERRIDES_PARAM = 'overrides';

/**
 * A caption-edit node is recognised by its definition, not its type id: it takes and gives IMAGES and has
 * an object param `overrides` (image hash → caption).
 */
export function isCaptionEditDef(def: NodeDef | undefined): boolean {
  if (!def) return false;
  const prop = def.params.properties?.[OVERRIDES_PARAM];
  const type = prop?.type ?? prop?.anyOf?.find((s) => s.type === 'object')?.type;
  return (
    type === 'object' &&
    Object.values(def.inputs).some((i) => i.type === 'IMAGES') &&
    Object.values(def.outputs).some((o) => o.type === 'IMAGES')
  );
}

export function captionEditDefs(defs: NodeDefs): NodeDef[] {
  return Object.values(defs.byType).filter(isCaptionEditDef);
}

/** The caption-edit node holding overrides for a dataset node: itself, or the first one wired after it. */
export function findCaptionEditNode(
  nodeId: string,
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
  defs: NodeDefs,
): WorkflowFlowNode | null {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const self = byId.get(nodeId);
  if (self && isWorkflowNode(self) && isCaptionEditDef(defs.byType[self.data.type])) return self;
  for (const e of edges) {
    if (e.source !== nodeId) continue;
    const t = byId.get(e.target);
    if (t && isWorkflowNode(t) && isCaptionEditDef(defs.byType[t.data.type])) return t;
  }
  return null;
}

export function overridesOf(node: WorkflowFlowNode | null): Record<string, string> {
  const v = node?.data.params[OVERRIDES_PARAM];
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, c] of Object.entries(v)) if (typeof c === 'string') out[k] = c;
  return out;
}

/** New overrides after editing one caption; editing back to the original removes the override. */
export function withOverride(
  overrides: Record<string, string>,
  imageHash: string,
  caption: string,
  original: string,
): Record<string, string> {
  const next = { ...overrides };
  if (caption === original) delete next[imageHash];
  else next[imageHash] = caption;
  return next;
}
