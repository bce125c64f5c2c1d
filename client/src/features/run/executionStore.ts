import { create } from 'zustand';

export type NodeStatus =
  | 'idle'
  | 'queued'
  | 'running'
  | 'cached'
  | 'done'
  | 'failed'
  | 'cancelled'
  | 'skipped';

export type NodeRun = {
  status: NodeStatus;
  value?: number;
  max?: number;
  text?: string;
  error?: string;
  /** What the node shows after running (thumbnails, captions, stats), from `node.output`. */
  display?: Record<string, unknown>;
  warnings?: string[];
  /** The latest live preview (e.g. a latent decoded mid-sampling) while the node runs. */
  livePreview?: { image: string; label: string };
};

export type RunStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';

/** A server-side validation problem attached to a node (and a param, when it is about one). */
export type NodeProblem = { field?: string; message: string };

export type ExecutionState = {
  /** The run whose states are shown on the canvas. */
  runId: string | null;
  runStatus: RunStatus | null;
  nodes: Record<string, NodeRun>;
  /** Per-node errors from the last `POST /api/runs` that was refused. */
  problems: Record<string, NodeProblem[]>;
  /** Errors not tied to a node (e.g. "no output node"). */
  generalProblems: string[];
  connected: boolean;
  queue: { pending: number; running: number };
};

const initial: ExecutionState = {
  runId: null,
  runStatus: null,
  nodes: {},
  problems: {},
  generalProblems: [],
  connected: false,
  queue: { pending: 0, running: 0 },
};

/**
 * Execution state, kept apart from the graph store so that progress events re-render only the node they are
 * about and never the graph. Nodes read it with `useNodeRun(id)`.
 */
export const useExecution = create<ExecutionState>()(() => initial);

export const IDLE: NodeRun = { status: 'idle' };

export function useNodeRun(nodeId: string): NodeRun {
  return useExecution((s) => s.nodes[nodeId] ?? IDLE);
}

export function useNodeProblems(nodeId: string): NodeProblem[] | undefined {
  return useExecution((s) => s.problems[nodeId]);
}

export function resetExecution(): void {
  useExecution.setState({ ...initial, connected: useExecution.getState().connected });
}
