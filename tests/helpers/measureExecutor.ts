/**
 * Quick executor measurements (no HTTP; `npm run bench:executor` is the full benchmark):
 *   node --import tsx tests/helpers/measureExecutor.ts
 * Prints wall and CPU time, since CPU time stays meaningful on a busy machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowDocument } from '../../server/workflow/schema.ts';
import { bigSumWorkflow } from './bigWorkflow.ts';
import { createTestExecutor } from './executorHarness.ts';
import { workflow } from './workflowBuilder.ts';

async function measure(label: string, runs: number, fn: () => unknown): Promise<void> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - wall0) / runs;
  console.log(
    `${label.padEnd(44)} wall ${wall.toFixed(2).padStart(7)} ms   cpu ${((cpu.user + cpu.system) / 1000 / runs).toFixed(2).padStart(7)} ms`,
  );
}

function pipeline7(): WorkflowDocument {
  const b = workflow().node('n', 'test/basic/number', { value: 1 });
  let prev = 'n.value';
  for (let i = 0; i < 5; i++) {
    b.node(`a${i}`, 'test/basic/add', { offset: i }).link(prev, `a${i}.a`);
    prev = `a${i}.sum`;
  }
  return b.node('out', 'test/basic/sink').link(prev, 'out.value').build();
}

const dir = mkdtempSync(join(tmpdir(), 'loraflow-measure-'));
try {
  let t = createTestExecutor({ dataDir: dir });
  const doc = bigSumWorkflow(100);
  console.log(`workflow: ${doc.nodes.length} nodes, ${doc.links.length} links`);
  await measure('validate + schedule 200 nodes (first call)', 1, () => t.executor.plan(doc));
  await measure('validate + schedule 200 nodes (warm, x50)', 50, () => t.executor.plan(doc));
  let seed = 1;
  await measure('cold run 200 trivial nodes (x5)', 5, () => t.run(bigSumWorkflow(100, 1000 * seed++)));
  await t.run(doc);
  await measure('fully cached re-run 200 nodes (x20)', 20, () => t.run(doc));
  const seven = pipeline7();
  await t.run(seven);
  await measure('fully cached re-run 7-node pipeline (x100)', 100, () => t.run(seven));
  t.close();
  t = createTestExecutor({ dataDir: dir });
  await measure('cached 200 nodes after reopening the db', 1, () => t.run(doc));
  t.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
