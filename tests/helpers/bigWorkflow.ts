import type { WorkflowDocument } from '../../server/workflow/schema.ts';
import { workflow } from './workflowBuilder.ts';

/**
 * A workflow of `leaves` test/basic/number nodes summed pairwise by test/basic/add nodes into one sink:
 * leaves + (leaves - 1) + 1 nodes, e.g. 100 leaves → 200 nodes. For benchmarks and scale tests.
 */
export function bigSumWorkflow(leaves = 100, seed = 0): WorkflowDocument {
  const b = workflow();
  let level: { node: string; output: string }[] = [];
  for (let i = 0; i < leaves; i++) {
    b.node(`n${i}`, 'test/basic/number', { value: i + seed });
    level.push({ node: `n${i}`, output: 'value' });
  }
  let adds = 0;
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const id = `add${adds++}`;
      b.node(id, 'test/basic/add', { offset: 0 });
      b.link(`${level[i]!.node}.${level[i]!.output}`, `${id}.a`);
      b.link(`${level[i + 1]!.node}.${level[i + 1]!.output}`, `${id}.b`);
      next.push({ node: id, output: 'sum' });
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  b.node('out', 'test/basic/sink');
  b.link(`${level[0]!.node}.${level[0]!.output}`, 'out.value');
  return b.build(`sum of ${leaves}`);
}
