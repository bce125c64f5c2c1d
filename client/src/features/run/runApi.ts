import { z } from 'zod';
import { RunDetail, RunEvent, RunSummary } from '../../../../server/queue/runTypes.ts';
import { NodeError } from '../../../../server/workflow/nodeErrors.ts';
import type { WorkflowDocument } from '../../../../server/workflow/schema.ts';
import { ApiError, getJson, postJson } from '../../api/http.ts';

const Started = z.object({ runId: z.string() });
const RunsList = z.union([
  z.object({ runs: z.array(RunSummary) }).loose(),
  z.array(RunSummary).transform((runs) => ({ runs })),
]);
const EventsList = z.union([
  z.object({ events: z.array(RunEvent) }).loose(),
  z.array(RunEvent).transform((events) => ({ events })),
]);

export type StartResult = { ok: true; runId: string } | { ok: false; errors: NodeError[]; message: string };

/** Pulls per-node errors out of a 400 body, wherever the server nests them. */
export function nodeErrorsOf(body: unknown): NodeError[] {
  const candidates: unknown[] = [];
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    candidates.push(b.errors);
    const e = b.error;
    if (e && typeof e === 'object') {
      const eo = e as Record<string, unknown>;
      candidates.push(eo.details, eo.errors);
      if (eo.details && typeof eo.details === 'object')
        candidates.push((eo.details as Record<string, unknown>).errors);
    }
  }
  for (const c of candidates) {
    const parsed = z.array(NodeError).safeParse(c);
    if (parsed.success) return parsed.data;
  }
  return [];
}

export async function startRun(workflow: WorkflowDocument, outputs?: string[]): Promise<StartResult> {
  try {
    const body = outputs ? { workflow, outputs } : { workflow };
    return { ok: true, runId: Started.parse(await postJson('/api/runs', body)).runId };
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      return { ok: false, errors: nodeErrorsOf(err.body), message: err.message };
    }
    throw err;
  }
}

export async function cancelRun(runId: string): Promise<void> {
  await postJson(`/api/runs/${encodeURIComponent(runId)}/cancel`);
}

export async function listRuns(limit = 30): Promise<RunSummary[]> {
  return RunsList.parse(await getJson(`/api/runs?limit=${limit}`)).runs;
}

export async function getRun(runId: string): Promise<RunDetail> {
  const raw = await getJson(`/api/runs/${encodeURIComponent(runId)}`);
  const wrapped = z.object({ run: RunDetail }).safeParse(raw);
  return wrapped.success ? wrapped.data.run : RunDetail.parse(raw);
}

export async function getRunEvents(
  runId: string,
  o: { node?: string; type?: string; since?: number } = {},
): Promise<RunEvent[]> {
  const q = new URLSearchParams();
  if (o.node) q.set('node', o.node);
  if (o.type) q.set('type', o.type);
  if (o.since !== undefined) q.set('since', String(o.since));
  return EventsList.parse(await getJson(`/api/runs/${encodeURIComponent(runId)}/events?${q}`)).events;
}
