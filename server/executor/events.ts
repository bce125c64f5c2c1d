import { z } from 'zod';

/** Events the executor emits while running a workflow; the server forwards them over the websocket. */
const base = { runId: z.string(), nodeId: z.string(), ts: z.number() };
const Json = z.record(z.string(), z.unknown());

export const NodeErrorInfo = z.object({
  message: z.string(),
  /** What the user can do about it, when the node said. */
  hint: z.string().optional(),
});
export type NodeErrorInfo = z.infer<typeof NodeErrorInfo>;

export const NodeStartedEvent = z.object({ type: z.literal('node.started'), ...base });
export const NodeProgressEvent = z.object({
  type: z.literal('node.progress'),
  ...base,
  value: z.number(),
  max: z.number(),
  text: z.string().optional(),
});
export const NodeCachedEvent = z.object({
  type: z.literal('node.cached'),
  ...base,
  outputs: Json,
  display: Json.optional(),
});
export const NodeOutputEvent = z.object({
  type: z.literal('node.output'),
  ...base,
  outputs: Json,
  display: Json.optional(),
  /** True when the node was bypassed and passed its inputs through. */
  bypassed: z.boolean().optional(),
});
export const NodeFailedEvent = z.object({ type: z.literal('node.failed'), ...base, error: NodeErrorInfo });
export const NodeSkippedEvent = z.object({ type: z.literal('node.skipped'), ...base, reason: z.string() });
export const NodeCancelledEvent = z.object({ type: z.literal('node.cancelled'), ...base });
export const NodeLogEvent = z.object({
  type: z.literal('node.log'),
  ...base,
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
});
export const NodeCustomEvent = z.object({
  type: z.literal('node.event'),
  ...base,
  event: z.object({ type: z.string(), data: z.unknown() }),
});

export const ExecutorEvent = z.discriminatedUnion('type', [
  NodeStartedEvent,
  NodeProgressEvent,
  NodeCachedEvent,
  NodeOutputEvent,
  NodeFailedEvent,
  NodeSkippedEvent,
  NodeCancelledEvent,
  NodeLogEvent,
  NodeCustomEvent,
]);
export type ExecutorEvent = z.infer<typeof ExecutorEvent>;
export type ExecutorEventType = ExecutorEvent['type'];
