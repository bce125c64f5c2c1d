/**
 * Cycles among the given nodes (Tarjan's strongly connected components, iterative so deep graphs cannot
 * overflow the stack). Each cycle is listed in link order starting from its first node.
 */
export function findCycles(
  allInScope: Set<string>,
  nodes: Map<string, { downstream: Set<string>; upstream: Set<string> }>,
): string[][] {
  const scope = unsortable(allInScope, nodes);
  if (scope.size === 0) return [];
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;

  for (const root of scope) {
    if (index.has(root)) continue;
    const work: { id: string; children: string[]; i: number }[] = [];
    const visit = (id: string) => {
      index.set(id, counter);
      low.set(id, counter);
      counter++;
      stack.push(id);
      onStack.add(id);
      const children = [...(nodes.get(id)?.downstream ?? [])].filter((d) => scope.has(d));
      work.push({ id, children, i: 0 });
    };
    visit(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.children.length) {
        const child = frame.children[frame.i++]!;
        if (!index.has(child)) visit(child);
        else if (onStack.has(child)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let id: string;
        do {
          id = stack.pop()!;
          onStack.delete(id);
          component.push(id);
        } while (id !== frame.id);
        const selfLoop = component.length === 1 && nodes.get(frame.id)?.downstream.has(frame.id);
        if (component.length > 1 || selfLoop) cycles.push(orderCycle(component, nodes));
      }
    }
  }
  return cycles;
}

/**
 * Peels off nodes that can be ordered (Kahn); only the rest, on or downstream of a cycle, needs Tarjan.
 * Keeps the common acyclic case linear and cheap.
 */
function unsortable(
  scope: Set<string>,
  nodes: Map<string, { downstream: Set<string>; upstream: Set<string> }>,
) {
  const indegree = new Map<string, number>();
  const queue: string[] = [];
  for (const id of scope) {
    let n = 0;
    for (const up of nodes.get(id)?.upstream ?? []) if (scope.has(up)) n++;
    indegree.set(id, n);
    if (n === 0) queue.push(id);
  }
  for (let i = 0; i < queue.length; i++) {
    for (const down of nodes.get(queue[i]!)?.downstream ?? []) {
      const left = indegree.get(down);
      if (left === undefined) continue;
      indegree.set(down, left - 1);
      if (left === 1) queue.push(down);
    }
  }
  const rest = new Set(scope);
  for (const id of queue) rest.delete(id);
  return rest;
}

/** Walks the component along its links so the message reads as a path: a → b → c → a. */
function orderCycle(component: string[], nodes: Map<string, { downstream: Set<string> }>): string[] {
  const members = new Set(component);
  const start = component[component.length - 1]!;
  const path = [start];
  const seen = new Set([start]);
  let current = start;
  for (;;) {
    const next = [...(nodes.get(current)?.downstream ?? [])].find((d) => members.has(d) && !seen.has(d));
    if (!next) break;
    path.push(next);
    seen.add(next);
    current = next;
  }
  // Members the greedy walk missed (several interleaved loops) are appended so every one is named.
  for (const id of component) if (!seen.has(id)) path.push(id);
  return path;
}
