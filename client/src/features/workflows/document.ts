import { loadWorkflow } from '../../../../server/workflow/load.ts';
import type { NodeError } from '../../../../server/workflow/nodeErrors.ts';
import {
  WORKFLOW_FORMAT,
  WORKFLOW_VERSION,
  type WorkflowDocument,
  type WorkflowMeta,
} from '../../../../server/workflow/schema.ts';
import {
  type FlowEdge,
  type FlowNode,
  type GroupFlowNode,
  isGroupNode,
  isWorkflowNode,
  type WorkflowFlowNode,
  type WorkflowNodeData,
} from '../graph/types.ts';

export const CREATED_WITH = 'loraflow editor';

export type Graph = { nodes: FlowNode[]; edges: FlowEdge[]; meta: WorkflowMeta };

/**
 * The canvas graph as a workflow document. Only what the format defines is written: never React Flow's
 * runtime fields (selected, measured, zIndex, dragging).
 */
export function toDocument(graph: Graph): WorkflowDocument {
  const groups = graph.nodes.filter(isGroupNode).map((g) => {
    const group: NonNullable<WorkflowDocument['groups']>[number] = {
      id: g.id,
      title: g.data.title,
      bounds: {
        x: g.position.x,
        y: g.position.y,
        width: g.width ?? g.measured?.width ?? 0,
        height: g.height ?? g.measured?.height ?? 0,
      },
    };
    if (g.data.color) group.color = g.data.color;
    return group;
  });
  const doc: WorkflowDocument = {
    format: WORKFLOW_FORMAT,
    version: WORKFLOW_VERSION,
    nodes: graph.nodes.filter(isWorkflowNode).map((n) => {
      const out: WorkflowDocument['nodes'][number] = {
        id: n.id,
        type: n.data.type,
        version: n.data.version,
        params: structuredClone(n.data.params),
        position: { x: n.position.x, y: n.position.y },
      };
      if (n.data.title !== undefined) out.title = n.data.title;
      if (n.data.bypass) out.bypass = true;
      if (n.width !== undefined && n.height !== undefined) out.size = { width: n.width, height: n.height };
      return out;
    }),
    links: graph.edges.map((e) => ({
      id: e.id,
      from: { node: e.source, output: e.sourceHandle ?? '' },
      to: { node: e.target, input: e.targetHandle ?? '' },
    })),
    meta: { ...graph.meta, created_with: graph.meta.created_with || CREATED_WITH },
  };
  if (groups.length > 0) doc.groups = groups;
  return doc;
}

export type FromDocumentResult = ({ ok: true } & Graph) | { ok: false; errors: NodeError[] };

/**
 * A workflow document (any supported format version, as parsed JSON or text) as canvas nodes and edges.
 * Node types need not be known: unknown ones become placeholders that keep their params and wires.
 */
export function fromDocument(input: unknown): FromDocumentResult {
  const loaded = loadWorkflow(input);
  if (!loaded.ok) return { ok: false, errors: loaded.errors };
  const doc = loaded.doc;
  const groups: GroupFlowNode[] = (doc.groups ?? []).map((g) => {
    const node: GroupFlowNode = {
      id: g.id,
      type: 'group',
      position: { x: g.bounds.x, y: g.bounds.y },
      width: g.bounds.width,
      height: g.bounds.height,
      zIndex: -1,
      data: { title: g.title },
    };
    if (g.color) node.data.color = g.color;
    return node;
  });
  const nodes: WorkflowFlowNode[] = doc.nodes.map((n) => {
    const data: WorkflowNodeData = { type: n.type, version: n.version, params: structuredClone(n.params) };
    if (n.title !== undefined) data.title = n.title;
    if (n.bypass) data.bypass = true;
    const node: WorkflowFlowNode = {
      id: n.id,
      type: 'workflow',
      position: { x: n.position.x, y: n.position.y },
      data,
    };
    if (n.size) {
      node.width = n.size.width;
      node.height = n.size.height;
    }
    return node;
  });
  const edges: FlowEdge[] = doc.links.map((l) => ({
    id: l.id,
    source: l.from.node,
    sourceHandle: l.from.output,
    target: l.to.node,
    targetHandle: l.to.input,
  }));
  return { ok: true, nodes: [...groups, ...nodes], edges, meta: doc.meta };
}

export function emptyMeta(name = 'untitled'): WorkflowMeta {
  return { name, description: '', created_with: CREATED_WITH };
}
