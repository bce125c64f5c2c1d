import { z } from 'zod';
import { NodeErrorInfo } from '../executor/events.ts';
import { NodeStatus } from '../executor/runState.ts';

/** Node statuses are the executor's: pending, running, cached, done, failed, skipped, cancelled. */
export { NodeStatus };

export const RunStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

export const LogEntry = z.object({
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
  time: z.number(),
});
export type LogEntry = z.infer<typeof LogEntry>;

export const NodeProgress = z.object({ value: z.number(), max: z.number(), text: z.string().optional() });
export type NodeProgress = z.infer<typeof NodeProgress>;

/** One node's state within a run, as stored and as served by `GET /api/runs/:id`. */
export const NodeState = z.object({
  nodeId: z.string(),
  type: z.string(),
  status: NodeStatus,
  started: z.number().nullable(),
  finished: z.number().nullable(),
  durationMs: z.number().nullable(),
  outputs: z.record(z.string(), z.unknown()).nullable(),
  display: z.record(z.string(), z.unknown()).nullable(),
  error: NodeErrorInfo.nullable(),
  /** Why the node was skipped (its failed ancestor). */
  reason: z.string().nullable(),
  /** The last log lines of the node (at most LOG_TAIL). */
  logs: z.array(LogEntry),
  /** Only while the run is active (the latest report); not persisted. */
  progress: NodeProgress.optional(),
});
export type NodeState = z.infer<typeof NodeState>;

export const RunSummary = z.object({
  id: z.string(),
  seq: z.number().int(),
  status: RunStatus,
  /** The workflow's `meta.name`, when it has one. */
  name: z.string().nullable(),
  /** The output node ids requested, or null for every output node. */
  outputs: z.array(z.string()).nullable(),
  created: z.number(),
  started: z.number().nullable(),
  finished: z.number().nullable(),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  /** How many times the run was started (more than 1 after a restart resumed it). */
  attempts: z.number().int(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const RunDetail = RunSummary.extend({
  workflow: z.unknown(),
  nodes: z.array(NodeState),
});
export type RunDetail = z.infer<typeof RunDetail>;

export const RunEvent = z.object({
  seq: z.number().int(),
  nodeId: z.string(),
  type: z.string(),
  data: z.unknown(),
  time: z.number(),
});
export type RunEvent = z.infer<typeof RunEvent>;

export const LOG_TAIL = 100;

export function isTerminal(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}
