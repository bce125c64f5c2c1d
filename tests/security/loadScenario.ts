import type { ServerMessage } from '../../server/api/events/serverMessages.ts';
import type { LoraflowServer } from '../../server/app.ts';
import type { WorkflowDocument } from '../../server/workflow/schema.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient, postRun } from '../integration/serverHarness.ts';

/** A run that streams `steps` progress events from one node. */
export function progressWorkflow(steps: number, stepMs: number): WorkflowDocument {
  return workflow()
    .node('n', 'test/basic/number', { value: steps })
    .node('slow', 'test/basic/slow', { steps, stepMs })
    .node('o', 'test/basic/sink')
    .link('n.value', 'slow.in')
    .link('slow.out', 'o.value')
    .build('progress stream');
}

/** A small pipeline; after one run every node comes from the cache. */
export function cachedWorkflow(): WorkflowDocument {
  return workflow()
    .node('a', 'test/basic/number', { value: 1 })
    .node('b', 'test/basic/number', { value: 2 })
    .node('sum', 'test/basic/add', { offset: 0 })
    .node('out', 'test/basic/sink')
    .link('a.value', 'sum.a')
    .link('b.value', 'sum.b')
    .link('sum.sum', 'out.value')
    .build('cached burst');
}

/** Records every message the server broadcasts, in order (the reference the clients are compared with). */
export function recordBroadcasts(server: LoraflowServer): { published: ServerMessage[]; stop: () => void } {
  const published: ServerMessage[] = [];
  const hub = server.hub;
  const original = hub.broadcast;
  hub.broadcast = (msg: ServerMessage) => {
    published.push(msg);
    original.call(hub, msg);
  };
  return { published, stop: () => (hub.broadcast = original) };
}

export async function connectClients(url: string, n: number): Promise<EventClient[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => EventClient.connect(url)));
  await Promise.all(clients.map((c) => c.waitFor((m) => m.type === 'snapshot')));
  return clients;
}

/** Messages about one run, as sent (ts included), for an exact comparison. */
export const runMessages = (messages: ServerMessage[], runId: string) =>
  messages.filter((m) => 'runId' in m && m.runId === runId);

/**
 * Posts `n` runs of `doc` at once; resolves with each request's latency (ms) and run id. Every request must
 * be accepted: a refusal throws with the server's message.
 */
export async function burstRuns(
  url: string,
  doc: WorkflowDocument,
  n: number,
): Promise<{ latencies: number[]; runIds: string[] }> {
  const results = await Promise.all(
    Array.from({ length: n }, async () => {
      const t0 = performance.now();
      const r = await postRun(url, doc);
      const ms = performance.now() - t0;
      if (r.status !== 200 || !r.body.runId)
        throw new Error(`POST /api/runs: ${r.status} ${JSON.stringify(r.body)}`);
      return { ms, runId: r.body.runId };
    }),
  );
  return { latencies: results.map((r) => r.ms), runIds: results.map((r) => r.runId) };
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
