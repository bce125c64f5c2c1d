import { z } from 'zod';
import { WorkflowName } from '../../../../server/api/workflows/workflowName.ts';
import { deleteJson, getJson, putJson } from '../../api/http.ts';

/** `GET /api/workflows` rows (server/api/workflows/workflowFiles.ts `WorkflowListing`). */
export const WorkflowListing = z.object({
  name: z.string(),
  source: z.enum(['template', 'saved']),
  readOnly: z.boolean(),
  title: z.string().optional(),
  description: z.string().optional(),
  size: z.number(),
  modified: z.number(),
});
export type WorkflowListing = z.infer<typeof WorkflowListing>;

const ListResponse = z.object({ workflows: z.array(WorkflowListing) });
const ReadResponse = z.object({
  name: z.string(),
  source: z.enum(['template', 'saved']),
  readOnly: z.boolean(),
  workflow: z.unknown(),
});
export type ReadResponse = z.infer<typeof ReadResponse>;

export async function listWorkflows(): Promise<WorkflowListing[]> {
  return ListResponse.parse(await getJson('/api/workflows')).workflows;
}

export async function readWorkflow(name: string, source?: 'template' | 'saved'): Promise<ReadResponse> {
  const q = source ? `?source=${source}` : '';
  return ReadResponse.parse(await getJson(`/api/workflows/${encodeURIComponent(name)}${q}`));
}

export async function writeWorkflow(name: string, document: unknown): Promise<void> {
  await putJson(`/api/workflows/${encodeURIComponent(name)}`, document);
}

export async function removeWorkflow(name: string): Promise<void> {
  await deleteJson(`/api/workflows/${encodeURIComponent(name)}`);
}

/** Checks a name with the server's own rule before sending it. */
export function checkWorkflowName(name: string): { ok: true; name: string } | { ok: false; reason: string } {
  const r = WorkflowName.safeParse(name.trim());
  return r.success
    ? { ok: true, name: r.data }
    : { ok: false, reason: r.error.issues[0]?.message ?? 'invalid name' };
}
