import { Router } from 'express';
import type { NodeRegistry } from '../../../nodes/sdk/registry.ts';
import type { Executor } from '../../executor/executor.ts';
import type { RunQueue } from '../../queue/runQueue.ts';
import type { RunRepository } from '../../queue/runRepository.ts';
import { loadWorkflow } from '../../workflow/load.ts';
import { formatNodeError, type NodeError } from '../../workflow/nodeErrors.ts';
import { ApiError, notFound } from '../http/errors.ts';
import { jsonBody } from '../http/jsonBody.ts';
import { parseOr400 } from '../http/validate.ts';
import { CreateRunBody, ListRunsQuery, RUN_BODY_LIMIT, RunEventsQuery, RunIdParams } from './runsSchemas.ts';

export type RunsDeps = { registry: NodeRegistry; executor: Executor; queue: RunQueue; repo: RunRepository };

function invalidWorkflow(errors: NodeError[]): ApiError {
  const first = errors[0];
  return new ApiError(
    400,
    'invalid_workflow',
    first
      ? `the workflow has ${errors.length} problem${errors.length === 1 ? '' : 's'}; first: ${formatNodeError(first)}`
      : 'the workflow is invalid',
    { errors },
  );
}

/** Runs: submit (validated, then queued), history, one run's state, cancel, and custom node events. */
export function runsRouter(d: RunsDeps): Router {
  const router = Router();
  const json = jsonBody(RUN_BODY_LIMIT);

  router.post('/api/runs', json, (req, res) => {
    const body = parseOr400(CreateRunBody, req.body, 'run request');
    const loaded = loadWorkflow(body.workflow, d.registry);
    if (!loaded.ok) throw invalidWorkflow(loaded.errors);
    const planned = d.executor.plan(loaded.doc, body.outputs);
    if (!planned.ok) throw invalidWorkflow(planned.errors);
    if (loaded.nodeErrors.length > 0) throw invalidWorkflow(loaded.nodeErrors);
    const run = d.queue.submit(loaded.doc, body.outputs ?? null);
    res.json({ runId: run.id, run });
  });

  router.get('/api/runs', (req, res) => {
    const q = parseOr400(ListRunsQuery, req.query, 'query');
    res.json(
      d.repo.list({
        limit: q.limit,
        ...(q.before ? { before: q.before } : {}),
        ...(q.status ? { status: q.status } : {}),
      }),
    );
  });

  router.get('/api/runs/:id', (req, res) => {
    const { id } = parseOr400(RunIdParams, req.params, 'run id');
    const run = d.repo.detail(id);
    if (!run) throw notFound(`run ${id}`);
    // The live state (with progress) is ahead of the database by at most one tick.
    const live = d.queue.liveNodes(id);
    res.json(live ? { ...run, status: 'running', nodes: live } : run);
  });

  router.post('/api/runs/:id/cancel', (req, res) => {
    const { id } = parseOr400(RunIdParams, req.params, 'run id');
    const r = d.queue.cancel(id);
    if (r.ok) {
      res.json({ runId: id, status: r.status });
      return;
    }
    if (r.reason === 'not_found') throw notFound(`run ${id}`);
    throw new ApiError(
      409,
      'run_finished',
      `run ${id} already finished (${r.status}); there is nothing to cancel`,
    );
  });

  router.get('/api/runs/:id/events', (req, res) => {
    const { id } = parseOr400(RunIdParams, req.params, 'run id');
    const q = parseOr400(RunEventsQuery, req.query, 'query');
    if (!d.repo.summary(id)) throw notFound(`run ${id}`);
    const events = d.repo.events(id, {
      limit: q.limit,
      ...(q.node ? { node: q.node } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.since !== undefined ? { since: q.since } : {}),
    });
    res.json({ runId: id, events, last: events.length ? events[events.length - 1]!.seq : (q.since ?? 0) });
  });

  return router;
}
