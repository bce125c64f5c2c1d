import { z } from 'zod';
import { ExecutorEvent, NodeErrorInfo } from '../../executor/events.ts';
import { NodeState, type RunStatus, RunSummary } from '../../queue/runTypes.ts';

const runBase = { runId: z.string(), ts: z.number() };

/** A run that is queued or running, with its live node states (including the latest progress). */
export const ActiveRun = RunSummary.extend({ nodes: z.array(NodeState) });
export type ActiveRun = z.infer<typeof ActiveRun>;

export const QueueState = z.object({
  running: z.string().nullable(),
  /** Queued run ids in the order they will run. */
  queued: z.array(z.string()),
});
export type QueueState = z.infer<typeof QueueState>;

export const RunQueuedMessage = z.object({ type: z.literal('run.queued'), ...runBase, run: RunSummary });
export const RunStartedMessage = z.object({
  type: z.literal('run.started'),
  ...runBase,
  /** 1 for a first start, more when a restart resumed the run. */
  attempt: z.number().int(),
});
export const RunFinishedMessage = z.object({
  type: z.literal('run.finished'),
  ...runBase,
  status: z.literal('succeeded'),
  durationMs: z.number(),
});
export const RunFailedMessage = z.object({
  type: z.literal('run.failed'),
  ...runBase,
  status: z.literal('failed'),
  durationMs: z.number(),
  /** One line summary, e.g. `2 nodes failed: train (…), save (…)`. */
  error: z.string(),
  nodeErrors: z.array(z.object({ nodeId: z.string().nullable(), error: NodeErrorInfo })),
});
export const RunCancelledMessage = z.object({
  type: z.literal('run.cancelled'),
  ...runBase,
  status: z.literal('cancelled'),
  /** Whether it was cancelled while waiting in the queue (never started). */
  wasQueued: z.boolean(),
});
export const QueueStatusMessage = z.object({
  type: z.literal('queue.status'),
  ts: z.number(),
  ...QueueState.shape,
});
export const SnapshotMessage = z.object({
  type: z.literal('snapshot'),
  ts: z.number(),
  queue: QueueState,
  runs: z.array(ActiveRun),
});
export const PongMessage = z.object({ type: z.literal('pong'), ts: z.number(), id: z.string().optional() });
export const ErrorMessage = z.object({
  type: z.literal('error'),
  ts: z.number(),
  message: z.string(),
  details: z.unknown().optional(),
});

/** Every message the server sends on `/api/events`. `node.*` messages are the executor's events as is. */
export const ServerMessage = z.discriminatedUnion('type', [
  ...ExecutorEvent.options,
  RunQueuedMessage,
  RunStartedMessage,
  RunFinishedMessage,
  RunFailedMessage,
  RunCancelledMessage,
  QueueStatusMessage,
  SnapshotMessage,
  PongMessage,
  ErrorMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ServerMessageType = ServerMessage['type'];

/** The terminal run messages; a run's final status is also in `GET /api/runs/:id`. */
export type RunEndMessage = z.infer<
  typeof RunFinishedMessage | typeof RunFailedMessage | typeof RunCancelledMessage
>;
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];
