import { z } from 'zod';
import { NodeError } from '../workflow/nodeErrors.ts';
import { NodeErrorInfo } from './events.ts';

export const NodeStatus = z.enum(['pending', 'running', 'cached', 'done', 'failed', 'skipped', 'cancelled']);
export type NodeStatus = z.infer<typeof NodeStatus>;

/** Where one node of a run stands; persisted by the server and shown by the editor and CLI. */
export const NodeRunState = z.object({
  status: NodeStatus,
  /** Epoch milliseconds. */
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  error: NodeErrorInfo.optional(),
  /** Why a node was skipped (the failed ancestor). */
  reason: z.string().optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
  display: z.record(z.string(), z.unknown()).optional(),
  bypassed: z.boolean().optional(),
  cacheKey: z.string().optional(),
  warnings: z.array(z.string()).default([]),
});
export type NodeRunState = z.infer<typeof NodeRunState>;

export const RunStatus = z.enum(['succeeded', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

export const RunOutcome = z.object({
  runId: z.string(),
  status: RunStatus,
  /** The nodes the run needed (the requested outputs and their ancestors). */
  nodes: z.record(z.string(), NodeRunState),
  /** Validation errors when the workflow could not run at all (then `nodes` is empty). */
  errors: z.array(NodeError).optional(),
  startedAt: z.number(),
  finishedAt: z.number(),
});
export type RunOutcome = z.infer<typeof RunOutcome>;

export const TERMINAL_STATUSES: ReadonlySet<NodeStatus> = new Set([
  'cached',
  'done',
  'failed',
  'skipped',
  'cancelled',
]);
