import { Router } from 'express';
import { z } from 'zod';
import { ApiError, notFound } from '../http/errors.ts';
import { jsonBody } from '../http/jsonBody.ts';
import { parseOr400 } from '../http/validate.ts';
import type { WorkflowFiles } from './workflowFiles.ts';
import { WorkflowName } from './workflowName.ts';

/** Largest workflow document, in bytes. */
export const WORKFLOW_BODY_LIMIT = 10 * 1024 * 1024;

const NameParams = z.object({ name: WorkflowName });
const ReadQuery = z.object({ source: z.enum(['template', 'saved']).optional() });

/** Checks that a body is a workflow document before it is saved; returns the document to store. */
export type WorkflowDocumentCheck = (
  body: unknown,
) => { ok: true; document: unknown } | { ok: false; message: string; details?: unknown };

export function workflowsRouter(files: WorkflowFiles, checkDocument: WorkflowDocumentCheck): Router {
  const router = Router();
  const json = jsonBody(WORKFLOW_BODY_LIMIT);

  router.get('/api/workflows', async (_req, res) => {
    res.json({ workflows: await files.list() });
  });

  router.get('/api/workflows/:name', async (req, res) => {
    const { name } = parseOr400(NameParams, req.params, 'workflow name');
    const { source } = parseOr400(ReadQuery, req.query, 'query');
    const r = await files.read(name, source);
    if (!r.ok) throw notFound(`workflow "${name}"`);
    let workflow: unknown;
    try {
      workflow = JSON.parse(r.text);
    } catch {
      throw new ApiError(
        422,
        'corrupt_workflow',
        `workflow file "${name}.json" is not valid JSON; fix or delete it`,
      );
    }
    res.json({ name: r.name, source: r.source, readOnly: r.readOnly, workflow });
  });

  router.put('/api/workflows/:name', json, async (req, res) => {
    const { name } = parseOr400(NameParams, req.params, 'workflow name');
    if (req.body === undefined || !req.is('application/json')) {
      throw new ApiError(415, 'expected_json', 'send the workflow document as application/json');
    }
    const checked = checkDocument(req.body);
    if (!checked.ok) throw new ApiError(400, 'invalid_workflow', checked.message, checked.details);
    const r = await files.write(name, `${JSON.stringify(checked.document, null, 2)}\n`);
    if (!r.ok) {
      throw new ApiError(
        409,
        'template_read_only',
        `"${name}" is a built-in template and cannot be overwritten; save it under another name`,
      );
    }
    res.json({ name, source: 'saved', readOnly: false, modified: r.modified });
  });

  router.delete('/api/workflows/:name', async (req, res) => {
    const { name } = parseOr400(NameParams, req.params, 'workflow name');
    const r = await files.remove(name);
    if (!r.ok) {
      if (r.reason === 'template') {
        throw new ApiError(
          409,
          'template_read_only',
          `"${name}" is a built-in template and cannot be deleted`,
        );
      }
      throw notFound(`workflow "${name}"`);
    }
    res.status(204).end();
  });

  return router;
}
