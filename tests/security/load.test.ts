import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraflowServer } from '../../server/app.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { type EventClient, getJson, postRun, startTestServer } from '../integration/serverHarness.ts';
import {
  burstRuns,
  cachedWorkflow,
  connectClients,
  progressWorkflow,
  recordBroadcasts,
  runMessages,
} from './loadScenario.ts';

// Functional half of the load test (issue 9.11); the timings are in `npm run bench:load`.
let tmp: ReturnType<typeof makeTempDir>;
let server: LoraflowServer;

beforeAll(async () => {
  tmp = makeTempDir('loraflow-sec-load-');
  server = await startTestServer({ dataDir: tmp.dir });
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

describe('load on loopback', () => {
  it('50 websocket clients each see every event of a streaming run, in order', async () => {
    const clients: EventClient[] = await connectClients(server.url, 50);
    const rec = recordBroadcasts(server);
    try {
      const { status, body } = await postRun(server.url, progressWorkflow(60, 2));
      expect(status).toBe(200);
      const runId = body.runId!;
      await Promise.all(clients.map((c) => c.runEnd(runId)));
      const published = runMessages(rec.published, runId);
      const types = published.map((m) => m.type);
      expect(types[0]).toBe('run.queued');
      expect(types.at(-1)).toBe('run.finished');
      expect(types.filter((t) => t === 'node.progress').length).toBeGreaterThan(3);
      for (const [i, c] of clients.entries()) {
        expect(runMessages(c.messages, runId), `client ${i}`).toEqual(published);
      }
      expect(server.hub.clientCount).toBe(50);
    } finally {
      rec.stop();
      for (const c of clients) c.close();
    }
  });

  it('200 POST /api/runs of a cached workflow in a burst are all accepted and all complete', async () => {
    const doc = cachedWorkflow();
    const warm = await postRun(server.url, doc);
    expect(warm.status).toBe(200);
    await server.queue.idle();
    const [watcher] = await connectClients(server.url, 1);
    try {
      const { runIds } = await burstRuns(server.url, doc, 200);
      expect(new Set(runIds).size).toBe(200);
      const ends = await Promise.all(runIds.map((id) => watcher!.runEnd(id)));
      expect(ends.map((m) => m.type)).toEqual(runIds.map(() => 'run.finished'));
      await server.queue.idle();
      for (const id of runIds.slice(0, 20)) {
        const run = await getJson<RunDetail>(server.url, `/api/runs/${id}`);
        expect(run.status).toBe('succeeded');
        expect(run.nodes.every((n) => n.status === 'cached')).toBe(true);
      }
      const history = await getJson<{ total: number }>(server.url, '/api/runs?status=succeeded&limit=1');
      expect(history.total).toBeGreaterThanOrEqual(201);
    } finally {
      watcher!.close();
    }
  });
});
