import { z } from 'zod';

/** What a browser may send over `/api/events`. Anything else is answered with an `error` message. */
export const ClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ping'), id: z.string().max(100).optional() }),
  /** Limits `node.*` messages to one run (run.* and queue.status always arrive); omit runId for every run. */
  z.strictObject({ type: z.literal('subscribe'), runId: z.string().max(100).nullable().optional() }),
  /** Asks for a fresh `snapshot`, e.g. after the tab was hidden for a while. */
  z.strictObject({ type: z.literal('snapshot') }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
