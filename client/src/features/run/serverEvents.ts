import type { QueueState } from '../../../../server/api/events/serverMessages.ts';
import { ServerMessage } from '../../../../server/api/events/serverMessages.ts';
import type { ExecutorEvent } from '../../../../server/executor/events.ts';
import type { NodeState, RunStatus as ServerRunStatus } from '../../../../server/queue/runTypes.ts';
import type { NodeRun, RunStatus } from './executionStore.ts';
import { fromServerStatus } from './nodeStatus.ts';

/**
 * The editor's view of a websocket message, normalised at the boundary after validation with the server's
 * `ServerMessage` schema; anything unrecognised is dropped.
 */
export type ExecEvent =
  | {
      kind: 'snapshot';
      runs: { runId: string; status: RunStatus; nodes: Record<string, NodeRun> }[];
      queue?: Queue;
    }
  | { kind: 'run'; runId: string; status: RunStatus; error?: string }
  | { kind: 'node'; runId: string; nodeId: string; patch: Partial<NodeRun> }
  | { kind: 'node.event'; runId: string; nodeId: string; type: string; data: unknown; seq?: number }
  | { kind: 'node.log'; runId: string; nodeId: string; level: string; message: string }
  | { kind: 'queue'; queue: Queue };

export type Queue = { pending: number; running: number };

export function runStatusFromServer(s: ServerRunStatus): RunStatus {
  return s === 'succeeded' ? 'finished' : s;
}

function errorText(e: unknown): string | undefined {
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && 'message' in e && typeof e.message === 'string') {
    const hint = 'hint' in e && typeof e.hint === 'string' ? ` — ${e.hint}` : '';
    return e.message + hint;
  }
  return undefined;
}

function queueOf(q: QueueState): Queue {
  return { pending: q.queued.length, running: q.running ? 1 : 0 };
}

export function nodeRunFromState(s: NodeState): NodeRun {
  const run: NodeRun = { status: fromServerStatus(s.status) };
  if (s.progress) {
    run.value = s.progress.value;
    run.max = s.progress.max;
    if (s.progress.text) run.text = s.progress.text;
  }
  if (s.error) run.error = errorText(s.error);
  if (s.reason) run.error = s.reason;
  if (s.display) run.display = s.display;
  const warnings = s.logs.filter((l) => l.level === 'warn').map((l) => l.message);
  if (warnings.length > 0) run.warnings = warnings.slice(-3);
  return run;
}

/** Validates a websocket message with the server's own schema and normalises it; null when unusable. */
export function normalizeEvent(raw: unknown): ExecEvent | null {
  const parsed = ServerMessage.safeParse(raw);
  if (!parsed.success) return null;
  const m = parsed.data;
  switch (m.type) {
    case 'snapshot':
      return {
        kind: 'snapshot',
        queue: queueOf(m.queue),
        runs: m.runs.map((r) => ({
          runId: r.id,
          status: runStatusFromServer(r.status),
          nodes: Object.fromEntries(r.nodes.map((n) => [n.nodeId, nodeRunFromState(n)])),
        })),
      };
    case 'run.queued':
      return { kind: 'run', runId: m.runId, status: 'queued' };
    case 'run.started':
      return { kind: 'run', runId: m.runId, status: 'running' };
    case 'run.finished':
      return { kind: 'run', runId: m.runId, status: 'finished' };
    case 'run.failed':
      return { kind: 'run', runId: m.runId, status: 'failed', error: m.error };
    case 'run.cancelled':
      return { kind: 'run', runId: m.runId, status: 'cancelled' };
    case 'queue.status':
      return { kind: 'queue', queue: queueOf(m) };
    case 'pong':
    case 'error':
      return null;
    default:
      return fromExecutorEvent(m);
  }
}

/** The executor's node events (server/executor/events.ts) as execution-state patches. */
export function fromExecutorEvent(e: ExecutorEvent): ExecEvent {
  const { runId, nodeId } = e;
  switch (e.type) {
    case 'node.started':
      return {
        kind: 'node',
        runId,
        nodeId,
        patch: { status: 'running', error: undefined, value: 0, max: 0 },
      };
    case 'node.progress': {
      const patch: Partial<NodeRun> = { status: 'running', value: e.value, max: e.max };
      if (e.text) patch.text = e.text;
      return { kind: 'node', runId, nodeId, patch };
    }
    case 'node.cached':
      return { kind: 'node', runId, nodeId, patch: { status: 'cached', display: e.display } };
    case 'node.output':
      return { kind: 'node', runId, nodeId, patch: { status: 'done', display: e.display } };
    case 'node.failed':
      return {
        kind: 'node',
        runId,
        nodeId,
        patch: { status: 'failed', error: errorText(e.error) ?? 'failed' },
      };
    case 'node.skipped':
      return { kind: 'node', runId, nodeId, patch: { status: 'skipped', error: e.reason } };
    case 'node.cancelled':
      return { kind: 'node', runId, nodeId, patch: { status: 'cancelled' } };
    case 'node.log':
      return { kind: 'node.log', runId, nodeId, level: e.level, message: e.message };
    case 'node.event':
      return { kind: 'node.event', runId, nodeId, type: e.event.type, data: e.event.data };
    default: {
      const never: never = e;
      return never;
    }
  }
}
