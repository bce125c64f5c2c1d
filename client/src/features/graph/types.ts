import type { Edge, Node } from '@xyflow/react';

/** Data of a workflow node on the canvas. Only what a workflow file stores, plus the placeholder flag. */
export type WorkflowNodeData = {
  type: string;
  version: string;
  title?: string;
  params: Record<string, unknown>;
  bypass?: boolean;
};

export type GroupNodeData = {
  title: string;
  color?: string;
};

export type WorkflowFlowNode = Node<WorkflowNodeData, 'workflow'>;
export type GroupFlowNode = Node<GroupNodeData, 'group'>;
export type FlowNode = WorkflowFlowNode | GroupFlowNode;
export type FlowEdge = Edge;

export function isWorkflowNode(node: FlowNode): node is WorkflowFlowNode {
  return node.type === 'workflow';
}

export function isGroupNode(node: FlowNode): node is GroupFlowNode {
  return node.type === 'group';
}

/** A connection attempt as React Flow reports it (handles are socket names). */
export type ConnectionLike = {
  source: string | null;
  target: string | null;
  sourceHandle?: string | null;
  targetHandle?: string | null;
};
