import WebSocket from 'ws';
import type { ServerMessage } from '../../server/api/events/serverMessages.ts';
import { type LoraflowServer, startServer } from '../../server/app.ts';
import { loadConfig } from '../../server/config/config.ts';
import type { WorkflowDocument } from '../../server/workflow/schema.ts';
import { createTestRegistry } from '../helpers/testNodes.ts';

/** The real server on a random loopback port over `dataDir`, with the test nodes registered. */
export async function startTestServer(o: {
  dataDir: string;
  token?: string;
  host?: string;
}): Promise<LoraflowServer> {
  const config = loadConfig({
    cwd: o.dataDir,
    env: {},
    overrides: {
      dataDir: o.dataDir,
      port: 0,
      host: o.host ?? '127.0.0.1',
      ...(o.token ? { token: o.token } : {}),
    },
  });
  return startServer({ config, registry: createTestRegistry(), clientDist: null, engine: false });
}

/** A websocket client that records every message and can wait for one. */
export class EventClient {
  readonly messages: ServerMessage[] = [];
  private waiters: { test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as ServerMessage;
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
  }

  static connect(baseUrl: string, o: { token?: string; origin?: string } = {}): Promise<EventClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/events${o.token ? `?token=${encodeURIComponent(o.token)}` : ''}`;
    const ws = new WebSocket(url, o.origin ? { origin: o.origin } : {});
    const client = new EventClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`websocket refused: ${res.statusCode}`)),
      );
      ws.once('error', reject);
    });
  }

  /** Resolves with the first message (already received or future) that passes `test`. */
  waitFor<T extends ServerMessage>(test: (m: ServerMessage) => m is T, timeoutMs?: number): Promise<T>;
  waitFor(test: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  waitFor(test: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`timed out waiting for a message; got: ${this.messages.map((m) => m.type).join(', ')}`),
        );
      }, timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Waits for the run's terminal message. */
  runEnd(runId: string, timeoutMs?: number): Promise<ServerMessage> {
    return this.waitFor(
      (m) =>
        (m.type === 'run.finished' || m.type === 'run.failed' || m.type === 'run.cancelled') &&
        m.runId === runId,
      timeoutMs,
    );
  }

  /** Messages about one run, in order. */
  forRun(runId: string): ServerMessage[] {
    return this.messages.filter((m) => 'runId' in m && m.runId === runId);
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  close(): void {
    this.ws.terminate();
  }
}

export async function postRun(
  base: string,
  workflow: WorkflowDocument | unknown,
  o: { outputs?: string[]; token?: string } = {},
): Promise<{
  status: number;
  body: { runId?: string; error?: { code: string; message: string; details?: unknown } };
}> {
  const res = await fetch(`${base}/api/runs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
    },
    body: JSON.stringify({ workflow, ...(o.outputs ? { outputs: o.outputs } : {}) }),
  });
  return { status: res.status, body: await res.json() };
}

export async function getJson<T = unknown>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
