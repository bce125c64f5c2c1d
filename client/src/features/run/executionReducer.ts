import { z } from 'zod';
import type { ExecutionState, NodeRun } from './executionStore.ts';
import type { ExecEvent } from './serverEvents.ts';

const TERMINAL = new Set(['finished', 'failed', 'cancelled']);

/** `sample.preview` events: a small PNG as a data URL while an image is being sampled. */
export const LivePreviewEvent = z.object({
  image: z.string().startsWith('data:image/'),
  step: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
  index: z.number().int().nonnegative().optional(),
});

function patchNode(
  nodes: Record<string, NodeRun>,
  id: string,
  patch: Partial<NodeRun>,
): Record<string, NodeRun> {
  const prev = nodes[id] ?? { status: 'idle' };
  const next: NodeRun = { ...prev, ...patch };
  if (patch.status && patch.status !== 'running') {
    delete next.value;
    delete next.max;
    delete next.text;
  }
  if (patch.status === 'running' && prev.status !== 'running') delete next.display;
  if (patch.status && patch.status !== 'running') delete next.livePreview;
  for (const k of Object.keys(next) as (keyof NodeRun)[]) if (next[k] === undefined) delete next[k];
  return { ...nodes, [id]: next };
}

/**
 * Folds one server event into the execution state. Pure: the same events give the same state, which is what
 * lets a reload rebuild everything from the `snapshot` the server sends on connect.
 */
export function reduceExecution(state: ExecutionState, ev: ExecEvent): ExecutionState {
  switch (ev.kind) {
    case 'snapshot': {
      const next = ev.queue ? { ...state, queue: ev.queue } : state;
      const active =
        ev.runs.find((r) => r.runId === state.runId) ??
        ev.runs.find((r) => r.status === 'running') ??
        ev.runs.find((r) => r.status === 'queued');
      if (!active) return next;
      // Keep what we already know about nodes the snapshot does not mention (e.g. queued marks).
      const base = active.runId === state.runId ? state.nodes : {};
      return { ...next, runId: active.runId, runStatus: active.status, nodes: { ...base, ...active.nodes } };
    }
    case 'run': {
      const adopt =
        ev.runId === state.runId ||
        state.runId === null ||
        (state.runStatus !== null && TERMINAL.has(state.runStatus));
      if (!adopt || (ev.runId !== state.runId && ev.status !== 'running' && ev.status !== 'queued'))
        return state;
      const fresh = ev.runId !== state.runId;
      let nodes = fresh ? {} : state.nodes;
      if (TERMINAL.has(ev.status)) {
        // Whatever never started is not going to: queued marks become idle (or cancelled).
        const left: Record<string, NodeRun> = {};
        for (const [id, n] of Object.entries(nodes)) {
          if (n.status === 'queued' || n.status === 'running') {
            left[id] =
              ev.status === 'cancelled'
                ? { status: 'cancelled' }
                : n.status === 'running'
                  ? { status: 'cancelled' }
                  : { status: 'idle' };
          } else left[id] = n;
        }
        nodes = left;
      }
      return { ...state, runId: ev.runId, runStatus: ev.status, nodes };
    }
    case 'node': {
      if (ev.runId !== state.runId) {
        if (state.runId !== null && !(state.runStatus && TERMINAL.has(state.runStatus))) return state;
        return { ...state, runId: ev.runId, runStatus: 'running', nodes: patchNode({}, ev.nodeId, ev.patch) };
      }
      return { ...state, nodes: patchNode(state.nodes, ev.nodeId, ev.patch) };
    }
    case 'node.log': {
      if (ev.runId !== state.runId || ev.level !== 'warn') return state;
      const prev = state.nodes[ev.nodeId]?.warnings ?? [];
      return {
        ...state,
        nodes: patchNode(state.nodes, ev.nodeId, { warnings: [...prev, ev.message].slice(-3) }),
      };
    }
    case 'queue':
      return { ...state, queue: ev.queue };
    case 'node.event': {
      if (ev.runId !== state.runId || ev.type !== 'sample.preview') return state;
      const p = LivePreviewEvent.safeParse(ev.data);
      if (!p.success) return state;
      const label = `${p.data.index !== undefined ? `image ${p.data.index + 1}, ` : ''}step ${p.data.step}/${p.data.steps}`;
      return {
        ...state,
        nodes: patchNode(state.nodes, ev.nodeId, { livePreview: { image: p.data.image, label } }),
      };
    }
    default: {
      const never: never = ev;
      return never;
    }
  }
}
