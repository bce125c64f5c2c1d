import type { WorkflowDocument } from '../../../../server/workflow/schema.ts';
import type { NodeDefs } from '../../api/nodeDefs.ts';

/**
 * The nodes a run will execute: the output nodes (all, or those requested) and their ancestors. Shown as
 * "queued" the moment a run is accepted, before the server reports on each one.
 */
export function plannedNodes(doc: WorkflowDocument, defs: NodeDefs, outputs?: readonly string[]): string[] {
  const targets = outputs ?? doc.nodes.filter((n) => defs.byType[n.type]?.output).map((n) => n.id);
  const incoming = new Map<string, string[]>();
  for (const l of doc.links) {
    const list = incoming.get(l.to.node);
    if (list) list.push(l.from.node);
    else incoming.set(l.to.node, [l.from.node]);
  }
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const up of incoming.get(id) ?? []) stack.push(up);
  }
  return doc.nodes.filter((n) => seen.has(n.id)).map((n) => n.id);
}
