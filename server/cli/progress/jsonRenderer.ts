import type { ExecutorEvent } from '../../executor/events.ts';
import type { RunOutcome } from '../../executor/runState.ts';
import type { PlannedNode, RunRenderer } from './renderer.ts';

/** NDJSON: one object per line: run.started, the executor's node.* events, then run.finished/failed/cancelled. */
export class JsonRenderer implements RunRenderer {
  constructor(private readonly write: (line: string) => void) {}

  private line(value: unknown): void {
    this.write(`${JSON.stringify(value)}\n`);
  }

  start(runId: string, nodes: PlannedNode[]): void {
    this.line({ type: 'run.started', runId, ts: Date.now(), nodes });
  }

  event(e: ExecutorEvent): void {
    this.line(e);
  }

  finish(outcome: RunOutcome): void {
    const type =
      outcome.status === 'succeeded'
        ? 'run.finished'
        : outcome.status === 'failed'
          ? 'run.failed'
          : 'run.cancelled';
    const nodeErrors = Object.entries(outcome.nodes)
      .filter(([, s]) => s.status === 'failed' && s.error)
      .map(([nodeId, s]) => ({ nodeId, error: s.error }));
    this.line({
      type,
      runId: outcome.runId,
      ts: outcome.finishedAt,
      status: outcome.status,
      durationMs: outcome.finishedAt - outcome.startedAt,
      nodes: Object.fromEntries(Object.entries(outcome.nodes).map(([id, s]) => [id, s.status])),
      ...(nodeErrors.length ? { nodeErrors } : {}),
      ...(outcome.errors?.length ? { errors: outcome.errors } : {}),
    });
  }
}
