/**
 * `npm run bench:executor`: validation + scheduling of a 200-node workflow, a cold and a fully cached run of
 * 200 trivial nodes in process, and fully cached re-runs measured as the HTTP round trip (POST /api/runs →
 * run.finished over the websocket) for a 7-node pipeline and the 200-node graph. Prints medians and the
 * ratios against the targets: validate+schedule < 20 ms, cached 7-node < 50 ms, cached 200 < 10x cached 7.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../server/app.ts';
import { loadConfig } from '../server/config/config.ts';
import { createExecutor } from '../server/executor/executor.ts';
import { createArtifactStore } from '../server/store/artifactStore.ts';
import { openDatabase } from '../server/store/database.ts';
import { loadWorkflow } from '../server/workflow/load.ts';
import type { WorkflowDocument } from '../server/workflow/schema.ts';
import { bigSumWorkflow } from '../tests/helpers/bigWorkflow.ts';
import { createTestRegistry } from '../tests/helpers/testNodes.ts';
import { workflow } from '../tests/helpers/workflowBuilder.ts';
import { EventClient } from '../tests/integration/serverHarness.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const p90 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]!;
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function measure(n: number, fn: (i: number) => Promise<void> | void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

function pipeline7(): WorkflowDocument {
  return workflow()
    .node('a', 'test/basic/number', { value: 1 })
    .node('b', 'test/basic/number', { value: 2 })
    .node('sum1', 'test/basic/add', { offset: 0 })
    .node('sum2', 'test/basic/add', { offset: 1 })
    .node('sum3', 'test/basic/add', { offset: 2 })
    .node('all', 'test/basic/sum')
    .node('out', 'test/basic/sink')
    .link('a.value', 'sum1.a')
    .link('b.value', 'sum1.b')
    .link('sum1.sum', 'sum2.a')
    .link('sum2.sum', 'sum3.a')
    .link('sum1.sum', 'all.values')
    .link('sum3.sum', 'all.values')
    .link('all.sum', 'out.value')
    .build('pipeline of 7');
}

const rows: { what: string; median: number; p90: number; n: number }[] = [];
const record = (what: string, xs: number[]) =>
  rows.push({ what, median: median(xs), p90: p90(xs), n: xs.length });

const registry = createTestRegistry();
const big = bigSumWorkflow(100);
if (big.nodes.length !== 200) throw new Error(`expected 200 nodes, got ${big.nodes.length}`);

// 1. validate + schedule (in process, no I/O).
{
  const dir = mkdtempSync(join(tmpdir(), 'loraflow-bench-exec-'));
  const db = openDatabase(dir);
  const executor = createExecutor({ registry, db, store: createArtifactStore(db) });
  const text = JSON.stringify(big);
  // Warm-up, so the figures are the steady state of a running server rather than JIT compilation.
  for (let i = 0; i < 50; i++) {
    const loaded = loadWorkflow(text, registry);
    if (loaded.ok) executor.plan(loaded.doc);
  }
  record(
    'load + validate + schedule 200 nodes (JSON text → plan)',
    await measure(100, () => {
      const loaded = loadWorkflow(text, registry);
      if (!loaded.ok || !executor.plan(loaded.doc).ok) throw new Error('plan failed');
    }),
  );
  record(
    'validate + schedule 200 nodes (plan)',
    await measure(100, () => {
      if (!executor.plan(big).ok) throw new Error('plan failed');
    }),
  );

  // 2. cold runs: a new seed changes every leaf, so every node executes.
  await executor.run(bigSumWorkflow(100, 1_000_000), { runId: 'warm' });
  record(
    'cold run, 200 trivial nodes (in process)',
    await measure(5, async (i) => {
      const o = await executor.run(bigSumWorkflow(100, (i + 1) * 10_000), { runId: `cold${i}` });
      if (o.status !== 'succeeded') throw new Error(`run ${o.status}`);
    }),
  );
  // 3. fully cached re-runs of one of them.
  const cachedDoc = bigSumWorkflow(100, 10_000);
  record(
    'cached re-run, 200 nodes (in process)',
    await measure(20, async (i) => {
      const o = await executor.run(cachedDoc, { runId: `cached${i}` });
      if (Object.values(o.nodes).some((s) => s.status !== 'cached')) throw new Error('not all cached');
    }),
  );
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

// 4. HTTP round trips against the real server.
{
  const dir = mkdtempSync(join(tmpdir(), 'loraflow-bench-http-'));
  const server = await startServer({
    config: loadConfig({ cwd: dir, env: {}, overrides: { dataDir: dir, port: 0 } }),
    registry,
    clientDist: null,
  });
  const ws = await EventClient.connect(server.url);
  const roundTrip = async (doc: WorkflowDocument) => {
    const res = await fetch(`${server.url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: doc }),
    });
    const { runId } = (await res.json()) as { runId: string };
    const end = await ws.runEnd(runId);
    if (end.type !== 'run.finished') throw new Error(`run ${runId}: ${end.type}`);
    ws.messages.length = 0; // keep the client's buffer small across iterations
  };
  const seven = pipeline7();
  await roundTrip(seven); // cold: fills the cache
  for (let i = 0; i < 20; i++) await roundTrip(seven); // warm-up (JIT, lazily compiled modules)
  record(
    'cached re-run, 7-node pipeline (HTTP POST → run.finished on ws)',
    await measure(50, () => roundTrip(seven)),
  );
  await roundTrip(big);
  for (let i = 0; i < 3; i++) await roundTrip(big);
  record(
    'cached re-run, 200 nodes (HTTP POST → run.finished on ws)',
    await measure(15, () => roundTrip(big)),
  );
  ws.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

const width = Math.max(...rows.map((r) => r.what.length));
console.log(
  `\nloraflow executor benchmark (node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}; medians, p90 in brackets)\n`,
);
for (const r of rows)
  console.log(`${r.what.padEnd(width)}  ${ms(r.median).padStart(10)}  [${ms(r.p90)}]  n=${r.n}`);

const get = (prefix: string) => rows.find((r) => r.what.startsWith(prefix))!.median;
const plan = get('validate + schedule');
const seven = get('cached re-run, 7-node');
const big200 = get('cached re-run, 200 nodes (HTTP');
const checks = [
  { target: 'validate + schedule 200 nodes < 20 ms', value: ms(plan), ratio: plan / 20, ok: plan < 20 },
  { target: 'cached 7-node round trip < 50 ms', value: ms(seven), ratio: seven / 50, ok: seven < 50 },
  {
    target: 'cached 200-node < 10x cached 7-node (HTTP)',
    value: `${(big200 / seven).toFixed(1)}x`,
    ratio: big200 / seven / 10,
    ok: big200 < 10 * seven,
  },
];
console.log('\ntargets');
for (const c of checks) {
  console.log(
    `${c.ok ? 'PASS' : 'FAIL'}  ${c.target.padEnd(44)} ${c.value.padStart(10)}  (${(c.ratio * 100).toFixed(0)}% of the limit)`,
  );
}
process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
