import { randomUUID } from 'node:crypto';
import type { NodeRegistry } from '../../nodes/sdk/registry.ts';
import type { ActiveRun, QueueState, ServerMessage } from '../api/events/serverMessages.ts';
import type { ExecutorEvent, NodeErrorInfo } from '../executor/events.ts';
import type { Executor } from '../executor/executor.ts';
import type { RunOutcome } from '../executor/runState.ts';
import type { CacheGc } from '../store/gc.ts';
import { collectArtifactHashes } from '../store/hash.ts';
import { loadWorkflow } from '../workflow/load.ts';
import { formatNodeError } from '../workflow/nodeErrors.ts';
import type { WorkflowDocument } from '../workflow/schema.ts';
import type { RunRepository } from './runRepository.ts';
import { LOG_TAIL, type NodeState, type RunSummary } from './runTypes.ts';

export type RunQueueOptions = {
  repo: RunRepository;
  executor: Executor;
  registry: NodeRegistry;
  /** Receives every message for websocket clients (queue, run and node messages). */
  publish: (msg: ServerMessage) => void;
  /** Pins the artifacts of queued and running runs against garbage collection. */
  gc?: Pick<CacheGc, 'pin' | 'unpin'>;
  /** Called after each run ends (not when the server closes mid-run), e.g. to collect garbage. */
  afterRun?: (runId: string) => void;
  now?: () => number;
};

export type CancelResult =
  | { ok: true; status: 'cancelled' | 'cancelling' }
  | { ok: false; reason: 'not_found' | 'finished'; status?: RunSummary['status'] };

type Running = {
  summary: RunSummary;
  nodes: Map<string, NodeState>;
  dirty: Set<string>;
  flushScheduled: boolean;
  controller: AbortController;
  /** Set when the server is closing: the run stays `running` in the database and resumes on restart. */
  shutdown: boolean;
  workflow: unknown;
};

/** Why a run's signal was aborted when the server closes (as opposed to a user's cancel). */
const SHUTDOWN = new Error('the server is shutting down; the run resumes when it starts again');

/**
 * FIFO queue of runs persisted in SQLite, one run at a time. Queued and interrupted runs are picked up again
 * by `start()` after a restart; finished nodes then come from the persistent cache.
 */
export class RunQueue {
  private readonly pending: string[] = [];
  private readonly pendingSummaries = new Map<string, RunSummary>();
  private readonly pendingWorkflows = new Map<string, unknown>();
  private active: Running | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: RunQueueOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Re-queues runs left queued or running by a previous process (in their original order) and starts. */
  start(): void {
    for (const run of this.o.repo.unfinished()) {
      if (run.status === 'running') this.o.repo.requeue(run.id);
      this.pending.push(run.id);
      this.pendingSummaries.set(run.id, { ...run, status: 'queued' });
      this.o.gc?.pin(run.id, collectArtifactHashes(this.o.repo.workflow(run.id)));
    }
    this.publishQueue();
    this.kick();
  }

  /** Queues a workflow that has already been validated. */
  submit(doc: WorkflowDocument, outputs: string[] | null): RunSummary {
    if (this.closed) throw new Error('the run queue is closed');
    const summary = this.o.repo.insert({
      id: randomUUID(),
      name: doc.meta.name || null,
      workflow: doc,
      outputs,
      created: this.now(),
    });
    this.pending.push(summary.id);
    this.pendingSummaries.set(summary.id, summary);
    this.pendingWorkflows.set(summary.id, doc);
    this.o.gc?.pin(summary.id, collectArtifactHashes(doc));
    this.o.publish({ type: 'run.queued', runId: summary.id, ts: this.now(), run: summary });
    this.publishQueue();
    this.kick();
    return summary;
  }

  /** Cancels one run: a queued one is removed, a running one is aborted. Never touches another run. */
  cancel(runId: string): CancelResult {
    if (this.active?.summary.id === runId) {
      this.active.controller.abort(new DOMException('cancelled by the user', 'AbortError'));
      return { ok: true, status: 'cancelling' };
    }
    const index = this.pending.indexOf(runId);
    if (index >= 0) {
      this.pending.splice(index, 1);
      this.pendingSummaries.delete(runId);
      this.pendingWorkflows.delete(runId);
      this.o.repo.markFinished(runId, 'cancelled', this.now(), null);
      this.o.gc?.unpin(runId);
      this.o.publish({ type: 'run.cancelled', runId, ts: this.now(), status: 'cancelled', wasQueued: true });
      this.publishQueue();
      return { ok: true, status: 'cancelled' };
    }
    const summary = this.o.repo.summary(runId);
    if (!summary) return { ok: false, reason: 'not_found' };
    return { ok: false, reason: 'finished', status: summary.status };
  }

  state(): QueueState {
    return { running: this.active?.summary.id ?? null, queued: [...this.pending] };
  }

  counts(): { queued: number; running: number } {
    return { queued: this.pending.length, running: this.active ? 1 : 0 };
  }

  /** The running run (with live node states and progress) and the queued ones, for the websocket snapshot. */
  activeRuns(): ActiveRun[] {
    const out: ActiveRun[] = [];
    if (this.active) out.push({ ...this.active.summary, nodes: [...this.active.nodes.values()] });
    for (const id of this.pending) {
      const s = this.pendingSummaries.get(id);
      if (s) out.push({ ...s, nodes: [] });
    }
    return out;
  }

  /** Live node states of the running run (with progress), or undefined if `runId` is not running. */
  liveNodes(runId: string): NodeState[] | undefined {
    return this.active?.summary.id === runId ? [...this.active.nodes.values()] : undefined;
  }

  /** Artifacts that queued and running runs reference: garbage collection must keep them. */
  pinnedHashes(): Set<string> {
    const pins = new Set<string>();
    if (this.active) {
      collectArtifactHashes(this.active.workflow, pins);
      for (const n of this.active.nodes.values()) {
        collectArtifactHashes(n.outputs, pins);
        collectArtifactHashes(n.display, pins);
      }
    }
    for (const id of this.pending) {
      collectArtifactHashes(this.pendingWorkflows.get(id) ?? this.o.repo.workflow(id), pins);
    }
    return pins;
  }

  /** Waits for nothing to be queued or running (tests, benchmarks and the CLI use it). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /**
   * Stops taking work. The running run is aborted but stays `running` in the database, so the next start
   * resumes it; queued runs stay queued.
   */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    if (this.active) {
      this.active.shutdown = true;
      this.active.controller.abort(SHUTDOWN);
    }
    if (!this.draining) return;
    // A node that never reports progress cannot be stopped; do not let it hold the shutdown forever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.draining,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private kick(): void {
    if (this.draining || this.closed || this.pending.length === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // A run submitted while the last one was finishing.
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.pending.length > 0) {
      const runId = this.pending.shift()!;
      const summary = this.pendingSummaries.get(runId) ?? this.o.repo.summary(runId);
      const submitted = this.pendingWorkflows.get(runId);
      const workflow = submitted ?? this.o.repo.workflow(runId);
      this.pendingSummaries.delete(runId);
      this.pendingWorkflows.delete(runId);
      if (!summary) continue;
      try {
        await this.execute(summary, workflow, submitted !== undefined);
      } catch (err) {
        this.active = undefined;
        // After close() gave up waiting, the database may be gone: the run resumes on the next start.
        if (this.closed) return;
        // A bug or a database failure: record it on the run instead of stopping the queue.
        console.error(`[queue] run ${runId} crashed:`, err);
        try {
          this.finishRun(
            summary.id,
            'failed',
            `internal error: ${(err as Error).message}`,
            [],
            summary.started,
          );
        } catch (again) {
          console.error(`[queue] cannot record the failure of run ${runId}:`, again);
        }
      }
    }
  }

  private async execute(queued: RunSummary, workflow: unknown, fresh: boolean): Promise<void> {
    const started = this.now();
    this.o.repo.markStarted(queued.id, started);
    const summary: RunSummary = {
      ...queued,
      status: 'running',
      started,
      finished: null,
      durationMs: null,
      error: null,
      attempts: queued.attempts + 1,
    };
    const run: Running = {
      summary,
      nodes: new Map(),
      dirty: new Set(),
      flushScheduled: false,
      controller: new AbortController(),
      shutdown: false,
      workflow,
    };
    this.active = run;
    this.o.publish({ type: 'run.started', runId: summary.id, ts: started, attempt: summary.attempts });
    this.publishQueue();

    // A document submitted to this process was loaded by the same registry; one read back from the database
    // (after a restart) is loaded again, as node definitions may have been upgraded since it was queued.
    const loaded = fresh
      ? ({ ok: true, doc: workflow as WorkflowDocument } as const)
      : loadWorkflow(workflow, this.o.registry);
    let outcome: RunOutcome;
    if (!loaded.ok) {
      outcome = {
        runId: summary.id,
        status: 'failed',
        nodes: {},
        errors: loaded.errors,
        startedAt: started,
        finishedAt: this.now(),
      };
    } else {
      const outputs = summary.outputs ?? undefined;
      const planned = this.o.executor.plan(loaded.doc, outputs);
      if (planned.ok) {
        // Pending nodes live in memory only (snapshot, GET /api/runs/:id); rows are written once a node moves.
        for (const nodeId of planned.plan.order) {
          const type = planned.plan.nodes.get(nodeId)?.node.type ?? 'unknown';
          run.nodes.set(nodeId, emptyNode(nodeId, type));
        }
      }
      outcome = await this.o.executor.run(loaded.doc, {
        runId: summary.id,
        ...(outputs ? { outputs } : {}),
        signal: run.controller.signal,
        onEvent: (e) => this.onEvent(run, e),
      });
    }
    this.flush(run);
    this.active = undefined;
    if (run.shutdown) return;

    const nodeErrors: { nodeId: string | null; error: NodeErrorInfo }[] = [];
    for (const e of outcome.errors ?? [])
      nodeErrors.push({ nodeId: e.nodeId, error: { message: formatNodeError(e) } });
    for (const [nodeId, s] of Object.entries(outcome.nodes)) {
      if (s.status === 'failed' && s.error) nodeErrors.push({ nodeId, error: s.error });
    }
    let error: string | null = null;
    if (outcome.status === 'failed') {
      error = outcome.errors?.length
        ? `the workflow is invalid: ${formatNodeError(outcome.errors[0]!)}${outcome.errors.length > 1 ? ` (and ${outcome.errors.length - 1} more)` : ''}`
        : `${nodeErrors.length} node${nodeErrors.length === 1 ? '' : 's'} failed: ${nodeErrors
            .map((e) => `${e.nodeId} (${e.error.message})`)
            .join('; ')}`;
    }
    this.finishRun(summary.id, outcome.status, error, nodeErrors, started);
  }

  private finishRun(
    runId: string,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: string | null,
    nodeErrors: { nodeId: string | null; error: NodeErrorInfo }[],
    started: number | null,
  ): void {
    const ts = this.now();
    this.o.repo.markFinished(runId, status, ts, error);
    const durationMs = started === null ? 0 : ts - started;
    switch (status) {
      case 'succeeded':
        this.o.publish({ type: 'run.finished', runId, ts, status, durationMs });
        break;
      case 'failed':
        this.o.publish({
          type: 'run.failed',
          runId,
          ts,
          status,
          durationMs,
          error: error ?? 'failed',
          nodeErrors,
        });
        break;
      case 'cancelled':
        this.o.publish({ type: 'run.cancelled', runId, ts, status, wasQueued: false });
        break;
      default: {
        const never: never = status;
        throw new Error(`unknown run status ${String(never)}`);
      }
    }
    this.publishQueue();
    this.o.gc?.unpin(runId);
    try {
      this.o.afterRun?.(runId);
    } catch (err) {
      console.error(`[queue] after run ${runId}:`, err);
    }
  }

  private onEvent(run: Running, e: ExecutorEvent): void {
    const prev = run.nodes.get(e.nodeId) ?? emptyNode(e.nodeId, 'unknown');
    switch (e.type) {
      case 'node.started':
        // A node may start again in the same run (a repair pass after a corrupt input): forget the failure.
        this.setNode(run, e.nodeId, {
          ...prev,
          status: 'running',
          started: e.ts,
          finished: null,
          durationMs: null,
          error: null,
          reason: null,
        });
        break;
      case 'node.progress': {
        // Progress is live state only: it is not worth a database write 20 times a second.
        const progress =
          e.text === undefined
            ? { value: e.value, max: e.max }
            : { value: e.value, max: e.max, text: e.text };
        run.nodes.set(e.nodeId, { ...prev, progress });
        break;
      }
      case 'node.cached':
        this.o.gc?.pin(run.summary.id, collectArtifactHashes([e.outputs, e.display]));
        this.setNode(run, e.nodeId, {
          ...prev,
          error: null,
          reason: null,
          status: 'cached',
          started: e.ts,
          finished: e.ts,
          durationMs: 0,
          outputs: e.outputs,
          display: e.display ?? null,
        });
        break;
      case 'node.output':
        this.o.gc?.pin(run.summary.id, collectArtifactHashes([e.outputs, e.display]));
        this.setNode(run, e.nodeId, {
          ...finished(prev, e.ts),
          status: 'done',
          outputs: e.outputs,
          display: e.display ?? null,
        });
        break;
      case 'node.failed':
        this.setNode(run, e.nodeId, { ...finished(prev, e.ts), status: 'failed', error: e.error });
        break;
      case 'node.skipped':
        this.setNode(run, e.nodeId, { ...prev, status: 'skipped', reason: e.reason });
        break;
      case 'node.cancelled':
        this.setNode(run, e.nodeId, { ...finished(prev, e.ts), status: 'cancelled' });
        break;
      case 'node.log': {
        const logs = [...prev.logs, { level: e.level, message: e.message, time: e.ts }].slice(-LOG_TAIL);
        this.setNode(run, e.nodeId, { ...prev, logs });
        break;
      }
      case 'node.event':
        // Custom events (training metrics, samples) are kept so a reloaded page can fetch them.
        this.o.repo.appendEvent(run.summary.id, e.nodeId, e.event.type, e.event.data, e.ts);
        break;
      default: {
        const never: never = e;
        throw new Error(`unknown executor event ${JSON.stringify(never)}`);
      }
    }
    if (!run.shutdown) this.o.publish(e);
  }

  private setNode(run: Running, nodeId: string, state: NodeState): void {
    const { progress: _drop, ...rest } = state;
    // Progress belongs to a running node only.
    run.nodes.set(nodeId, state.status === 'running' ? state : rest);
    run.dirty.add(nodeId);
    this.scheduleFlush(run);
  }

  /** Node states are written behind, in one transaction per tick: a cached 200-node run is one write. */
  private scheduleFlush(run: Running): void {
    if (run.flushScheduled) return;
    run.flushScheduled = true;
    setImmediate(() => {
      run.flushScheduled = false;
      this.flush(run);
    });
  }

  private flush(run: Running): void {
    if (run.dirty.size === 0) return;
    const ids = [...run.dirty];
    run.dirty.clear();
    const states: NodeState[] = [];
    for (const id of ids) {
      const state = run.nodes.get(id);
      if (state) states.push(state);
    }
    this.o.repo.writeNodes(run.summary.id, states);
  }

  private publishQueue(): void {
    this.o.publish({ type: 'queue.status', ts: this.now(), ...this.state() });
  }
}

function emptyNode(nodeId: string, type: string): NodeState {
  return {
    nodeId,
    type,
    status: 'pending',
    started: null,
    finished: null,
    durationMs: null,
    outputs: null,
    display: null,
    error: null,
    reason: null,
    logs: [],
  };
}

function finished(prev: NodeState, ts: number): NodeState {
  return { ...prev, finished: ts, durationMs: prev.started === null ? null : ts - prev.started };
}
