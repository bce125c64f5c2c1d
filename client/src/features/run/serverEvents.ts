import { z } from 'zod';
import { ExecutorEvent } from '../../../../server/executor/events.ts';
import { NodeState, RunStatus as ServerRunStatus } from '../../../../server/queue/runTypes.ts';
import type { NodeRun, RunStatus } from './executionStore.ts';
import { fromServerStatus } from './nodeStatus.ts';

/**
 * The editor's view of a websocket message, normalised at the boundary. Every message is checked with zod
 * here; anything unrecognised is dropped (and reported once to the console as a warning by the client).
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

const Base = z.looseObject({ type: z.string() });
const RunMsg = z.looseObject({ runId: z.string(), error: z.unknown().optional() });
const QueueMsg = z.looseObject({
  pending: z.number().optional(),
  queued: z.number().optional(),
  running: z.number().optional(),
});

export function runStatusFromServer(s: z.infer<typeof ServerRunStatus>): RunStatus {
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

function queueOf(raw: unknown): Queue | undefined {
  const q = QueueMsg.safeParse(raw);
  if (!q.success) return undefined;
  return { pending: q.data.pending ?? q.data.queued ?? 0, running: q.data.running ?? 0 };
}

export function nodeRunFromState(s: z.infer<typeof NodeState>): NodeRun {
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

const SnapshotRun = z.looseObject({
  id: z.string().optional(),
  runId: z.string().optional(),
  status: ServerRunStatus,
  nodes: z.union([z.array(NodeState), z.record(z.string(), NodeState)]).optional(),
});

export function normalizeEvent(raw: unknown): ExecEvent | null {
  const base = Base.safeParse(raw);
  if (!base.success) return null;
  const m = base.data as Record<string, unknown>;
  const type = base.data.type;
  switch (type) {
    case 'snapshot': {
      const list = z.array(SnapshotRun).safeParse(m.runs ?? m.active ?? []);
      if (!list.success) return null;
      const runs = list.data.flatMap((r) => {
        const runId = r.runId ?? r.id;
        if (!runId) return [];
        const nodes: Record<string, NodeRun> = {};
        const states = Array.isArray(r.nodes) ? r.nodes : Object.values(r.nodes ?? {});
        for (const s of states) nodes[s.nodeId] = nodeRunFromState(s);
        return [{ runId, status: runStatusFromServer(r.status), nodes }];
      });
      const queue = queueOf(m.queue);
      return queue ? { kind: 'snapshot', runs, queue } : { kind: 'snapshot', runs };
    }
    case 'run.queued':
    case 'run.started':
    case 'run.finished':
    case 'run.failed':
    case 'run.cancelled': {
      const r = RunMsg.safeParse(m);
      if (!r.success) return null;
      const status = (
        {
          'run.queued': 'queued',
          'run.started': 'running',
          'run.finished': 'finished',
          'run.failed': 'failed',
          'run.cancelled': 'cancelled',
        } as const
      )[type];
      const error = errorText(r.data.error);
      return error
        ? { kind: 'run', runId: r.data.runId, status, error }
        : { kind: 'run', runId: r.data.runId, status };
    }
    case 'queue.status': {
      const queue = queueOf(m);
      return queue ? { kind: 'queue', queue } : null;
    }
    default:
      break;
  }
  if (!type.startsWith('node.')) return null;
  const parsed = ExecutorEvent.safeParse(m);
  if (!parsed.success) return null;
  return fromExecutorEvent(parsed.data);
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
