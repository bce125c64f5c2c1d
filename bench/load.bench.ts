/**
 * `npm run bench:load` (issue 9.11): the server on loopback under load, in process.
 *  1. 50 websocket clients connected while a run streams progress: delivery latency (client receive time minus
 *     the message's `ts`) p50/p99 over every message to every client, and a check that no client lost one.
 *  2. 200 POST /api/runs of a cached workflow in a burst (three times): request latency p50/p99, time until all
 *     200 finished, CPU time.
 *  3. Memory: RSS and V8 heap after GC settling, at start, after each burst and after the clients left.
 * Run with `nice -n 15`; the figures are for the machine it runs on (load average printed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerMessage } from '../server/api/events/serverMessages.ts';
import { postRun, startTestServer } from '../tests/integration/serverHarness.ts';
import {
  burstRuns,
  cachedWorkflow,
  connectClients,
  percentile,
  progressWorkflow,
  recordBroadcasts,
  runMessages,
} from '../tests/security/loadScenario.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;

/** RSS and heap after repeated full GCs, once the heap stops shrinking. */
async function settledMemory(): Promise<{ rss: number; heap: number }> {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    const heap = process.memoryUsage().heapUsed;
    if (Math.abs(last - heap) < 256 * 1024) break;
    last = heap;
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

const fmt = (m: { rss: number; heap: number }) =>
  `RSS ${(m.rss / MB).toFixed(1)} MB, heap ${(m.heap / MB).toFixed(1)} MB`;
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  if (!gc) console.warn('warning: run with --expose-gc for settled heap figures (npm run bench:load does)');
  console.log(
    `loraflow load bench — ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'loraflow-bench-load-'));
  const server = await startTestServer({ dataDir: dir });
  try {
    const doc = cachedWorkflow();
    await postRun(server.url, doc);
    await server.queue.idle();
    const start = await settledMemory();
    console.log(`memory at start (warm, cached):        ${fmt(start)}`);

    // 1. 50 clients while a run streams progress.
    const clients = await connectClients(server.url, 50);
    const arrivals: number[] = [];
    for (const c of clients) {
      c.ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as ServerMessage;
        if (m.type.startsWith('node.') || m.type.startsWith('run.')) arrivals.push(Date.now() - m.ts);
      });
    }
    const rec = recordBroadcasts(server);
    const t0 = performance.now();
    const streamCpu0 = process.cpuUsage();
    const run = await postRun(server.url, progressWorkflow(400, 2));
    const runId = run.body.runId!;
    await Promise.all(clients.map((c) => c.runEnd(runId)));
    const streamMs = performance.now() - t0;
    const streamCpu = process.cpuUsage(streamCpu0);
    rec.stop();
    const published = runMessages(rec.published, runId);
    const complete = clients.filter(
      (c) => JSON.stringify(runMessages(c.messages, runId)) === JSON.stringify(published),
    ).length;
    console.log(
      `\n50 clients, 1 streaming run: ${published.length} events (${published.filter((m) => m.type === 'node.progress').length} progress) in ${ms(streamMs)}; ` +
        `${complete}/50 clients got every event in order`,
    );
    console.log(`  CPU time for the run and its fan-out: ${ms((streamCpu.user + streamCpu.system) / 1000)}`);
    console.log(
      `  delivery latency over ${arrivals.length} deliveries: p50 ${ms(percentile(arrivals, 50))}, p99 ${ms(percentile(arrivals, 99))}, max ${ms(Math.max(...arrivals))}`,
    );
    const withClients = await settledMemory();
    console.log(`  memory with 50 clients connected:     ${fmt(withClients)}`);

    // 2. Bursts of 200 cached runs (the clients stay connected and receive every run's events).
    const after: { rss: number; heap: number }[] = [];
    for (const round of [1, 2, 3]) {
      const b0 = performance.now();
      const cpu0 = process.cpuUsage();
      const { latencies, runIds } = await burstRuns(server.url, doc, 200);
      const accepted = performance.now() - b0;
      await Promise.all(runIds.map((id) => clients[0]!.runEnd(id)));
      const allDone = performance.now() - b0;
      const cpu = process.cpuUsage(cpu0);
      console.log(
        `\nburst ${round}: 200 POST /api/runs (cached): latency p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, ` +
          `all accepted in ${ms(accepted)}, all 200 finished in ${ms(allDone)} (${(200 / (allDone / 1000)).toFixed(0)} runs/s)`,
      );
      console.log(
        `  CPU time (server + 50 in-process clients): ${ms((cpu.user + cpu.system) / 1000)} = ${ms((cpu.user + cpu.system) / 1000 / 200)} per run`,
      );
      for (const c of clients) c.messages.length = 0;
      await server.queue.idle();
      after.push(await settledMemory());
      console.log(`  memory after burst ${round} settled:        ${fmt(after[round - 1]!)}`);
    }
    for (const c of clients) c.close();
    await new Promise((r) => setTimeout(r, 200));
    const end = await settledMemory();
    console.log(`\nmemory after the clients left:         ${fmt(end)}`);
    const growth = (a: number, b: number) => {
      const d = after[b]!.heap - after[a]!.heap;
      return `${(d / MB).toFixed(2)} MB (${((d / after[a]!.heap) * 100).toFixed(1)}%)`;
    };
    console.log(
      `heap growth burst 1 -> 2: ${growth(0, 1)}, burst 2 -> 3: ${growth(1, 2)}; ` +
        `start -> end: heap ${((end.heap - start.heap) / MB).toFixed(2)} MB, RSS ${((end.rss - start.rss) / MB).toFixed(1)} MB`,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
