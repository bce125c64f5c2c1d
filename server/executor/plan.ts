import type { NodeRegistry } from '../../nodes/sdk/registry.ts';
import type { NodeError } from '../workflow/nodeErrors.ts';
import type { WorkflowDocument } from '../workflow/schema.ts';
import { analyzeWorkflow, type CompiledNode } from '../workflow/validate.ts';

/** What a run will execute: the targets, their ancestors, and a topological order of those. */
export type ExecutionPlan = {
  targets: string[];
  /** Every node the run needs, parents before children; ties keep document order. */
  order: string[];
  nodes: Map<string, CompiledNode>;
};

export type PlanResult = { ok: true; plan: ExecutionPlan } | { ok: false; errors: NodeError[] };

/** Validates the workflow and schedules the ancestors of the requested outputs (all output nodes by default). */
export function planWorkflow(
  doc: WorkflowDocument,
  registry: NodeRegistry,
  outputs?: readonly string[],
): PlanResult {
  const analysis = analyzeWorkflow(doc, registry, outputs ? { outputs } : {});
  if (analysis.errors.length > 0) return { ok: false, errors: analysis.errors };
  const scope = outputs ? analysis.scope : ancestorsOfTargets(analysis.targets, analysis.nodes);
  return {
    ok: true,
    plan: {
      targets: analysis.targets,
      order: topologicalOrder(scope, analysis.nodes),
      nodes: analysis.nodes,
    },
  };
}

function ancestorsOfTargets(targets: string[], nodes: Map<string, CompiledNode>): Set<string> {
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const up of nodes.get(id)!.upstream) stack.push(up);
  }
  return seen;
}

/** Kahn's algorithm over the scope; nodes become ready in document order. Assumes no cycle (validated). */
export function topologicalOrder(scope: Set<string>, nodes: Map<string, CompiledNode>): string[] {
  const position = new Map<string, number>();
  let i = 0;
  for (const id of nodes.keys()) position.set(id, i++);
  const indegree = new Map<string, number>();
  for (const id of scope) {
    let n = 0;
    for (const up of nodes.get(id)!.upstream) if (scope.has(up)) n++;
    indegree.set(id, n);
  }
  const ready = [...scope]
    .filter((id) => indegree.get(id) === 0)
    .sort((a, b) => position.get(a)! - position.get(b)!);
  const order: string[] = [];
  for (let head = 0; head < ready.length; head++) {
    const id = ready[head]!;
    order.push(id);
    const freed: string[] = [];
    for (const down of nodes.get(id)!.downstream) {
      if (!scope.has(down)) continue;
      const left = indegree.get(down)! - 1;
      indegree.set(down, left);
      if (left === 0) freed.push(down);
    }
    freed.sort((a, b) => position.get(a)! - position.get(b)!);
    ready.push(...freed);
  }
  if (order.length !== scope.size) throw new Error('topologicalOrder: the graph has a cycle');
  return order;
}
