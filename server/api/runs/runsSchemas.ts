import { z } from 'zod';
import { RunStatus } from '../../queue/runTypes.ts';

/** Largest run request body, in bytes. */
export const RUN_BODY_LIMIT = 10 * 1024 * 1024;

export const RunId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a run id');
export const RunIdParams = z.object({ id: RunId });

/** `POST /api/runs`. The workflow is checked separately, so its problems come back per node. */
export const CreateRunBody = z.strictObject({
  workflow: z.unknown().refine((v) => v !== undefined, 'the workflow document is required'),
  /** Output node ids to run towards (with their ancestors); default every output node. */
  outputs: z.array(z.string().min(1).max(128)).min(1).max(1000).optional(),
});
export type CreateRunBody = z.infer<typeof CreateRunBody>;

const IntFromQuery = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ListRunsQuery = z.object({
  limit: IntFromQuery(1, 200).default(50),
  /** Cursor: the `nextBefore` of the previous page. */
  before: IntFromQuery(1, Number.MAX_SAFE_INTEGER).optional(),
  status: RunStatus.optional(),
});

export const RunEventsQuery = z.object({
  node: z.string().min(1).max(128).optional(),
  type: z.string().min(1).max(128).optional(),
  /** Only events with a greater `seq`: pass the last `seq` you have for incremental fetches. */
  since: IntFromQuery(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: IntFromQuery(1, 10_000).default(1000),
});
