import type { NodeEvent, NodeServices } from '../../nodes/sdk/context.ts';
import type { NodeRegistry } from '../../nodes/sdk/registry.ts';
import {
  ArtifactCorruptError,
  ArtifactNotFoundError,
  type FileArtifactStore,
} from '../store/artifactStore.ts';
import { CacheIndex } from '../store/cacheIndex.ts';
import type { AppDatabase } from '../store/database.ts';
import { collectArtifactHashes } from '../store/hash.ts';
import { createItemCache } from '../store/itemCache.ts';
import type { WorkflowDocument } from '../workflow/schema.ts';
import type { CompiledNode } from '../workflow/validate.ts';
import { nodeCacheKey, valueHash } from './cacheKey.ts';
import type { ExecutorEvent, NodeErrorInfo } from './events.ts';
import { createNodeContext } from './nodeContext.ts';
import { validateNodeOutputs } from './outputs.ts';
import { type ExecutionPlan, type PlanResult, planWorkflow } from './plan.ts';
import { ProgressThrottle } from './progressThrottle.ts';
import type { NodeRunState, RunOutcome } from './runState.ts';
import { Semaphore } from './semaphore.ts';

export type ExecutorOptions = {
  registry: NodeRegistry;
  db: AppDatabase;
  store: FileArtifactStore;
  services?: NodeServices;
  /** Serialises heavy (engine) nodes; share one across executors/runs that use the same engine. */
  heavyLock?: Semaphore;
  /** How many light nodes may run at once (default 4). */
  lightConcurrency?: number;
  /** Minimum interval between progress events of one node (default 50 ms = 20 Hz). */
  progressIntervalMs?: number;
};

export type RunOptions = {
  runId: string;
  /** Output node ids to run towards; default every output node. */
  outputs?: readonly string[];
  signal?: AbortSignal;
  onEvent?: (event: ExecutorEvent) => void;
  /** Extra services for this run only (merged over the executor's). */
  services?: NodeServices;
  /** A plan from `plan(doc, outputs)` for this same document, to skip validating it twice. */
  plan?: ExecutionPlan;
};

export type Executor = {
  /** Validates and schedules without running anything. */
  plan(doc: WorkflowDocument, outputs?: readonly string[]): PlanResult;
  run(doc: WorkflowDocument, options: RunOptions): Promise<RunOutcome>;
  readonly cache: CacheIndex;
  readonly heavyLock: Semaphore;
};

export function createExecutor(options: ExecutorOptions): Executor {
  const cache = new CacheIndex(options.db, options.store);
  const heavyLock = options.heavyLock ?? new Semaphore(1);
  return {
    cache,
    heavyLock,
    plan: (doc, outputs) => planWorkflow(doc, options.registry, outputs),
    async run(doc, runOptions) {
      const startedAt = Date.now();
      const planned: PlanResult = runOptions.plan
        ? { ok: true, plan: runOptions.plan }
        : planWorkflow(doc, options.registry, runOptions.outputs);
      if (!planned.ok) {
        return {
          runId: runOptions.runId,
          status: 'failed',
          nodes: {},
          errors: planned.errors,
          startedAt,
          finishedAt: Date.now(),
        };
      }
      let execution = new RunExecution(options, cache, heavyLock, doc, planned.plan, runOptions);
      let nodes = await execution.start();
      // A node that found a stored input corrupt or missing (the store evicted it): run again, keeping every
      // finished node that does not reference it, so the nodes that made it recompute it and the node retries.
      for (let repair = 0; repair < MAX_REPAIRS && execution.lost.size > 0; repair++) {
        if (runOptions.signal?.aborted) break;
        const keep = execution.finishedWithout(execution.lost);
        execution = new RunExecution(options, cache, heavyLock, doc, planned.plan, runOptions, keep);
        nodes = await execution.start();
      }
      return {
        runId: runOptions.runId,
        status: execution.status(),
        nodes,
        startedAt,
        finishedAt: Date.now(),
      };
    },
  };
}

type Produced = { outputs: Record<string, unknown>; hashes: Record<string, string> };
/** A node finished in an earlier pass of the same run, carried into a repair pass as it is. */
type Finished = { state: NodeRunState; produced: Produced };

/** How many times one run recomputes artifacts that nodes found corrupt or missing before it gives up. */
const MAX_REPAIRS = 2;

const NEVER_ABORTED = new AbortController().signal;

/** One run of one plan: readiness tracking, cache lookups, bounded concurrency, failure isolation, cancel. */
class RunExecution {
  private readonly states: Record<string, NodeRunState> = {};
  private readonly produced = new Map<string, Produced>();
  private readonly waitingOn = new Map<string, number>();
  private readonly ready: string[] = [];
  private readonly lightQueue: string[] = [];
  private readonly touched: string[] = [];
  /** Nodes handed to execute() (maybe still waiting for the engine lock): they settle themselves. */
  private readonly launched = new Set<string>();
  private readonly keys = new Map<string, string>();
  private readonly scope: Set<string>;
  private readonly signal: AbortSignal;
  private readonly lightLimit: number;
  private runningLight = 0;
  private unsettled: number;
  private finish!: () => void;
  /** Artifacts that nodes of this pass found corrupt or missing (already evicted by the store). */
  readonly lost = new Set<string>();

  constructor(
    private readonly o: ExecutorOptions,
    private readonly cache: CacheIndex,
    private readonly heavyLock: Semaphore,
    private readonly doc: WorkflowDocument,
    private readonly plan: ExecutionPlan,
    private readonly run: RunOptions,
    finished: ReadonlyMap<string, Finished> = new Map(),
  ) {
    this.scope = new Set(plan.order);
    this.signal = run.signal ?? NEVER_ABORTED;
    this.lightLimit = Math.max(1, Math.floor(o.lightConcurrency ?? 4));
    this.unsettled = plan.order.length;
    for (const id of plan.order) {
      const carried = finished.get(id);
      this.states[id] = carried ? carried.state : { status: 'pending', warnings: [] };
      if (carried) this.produced.set(id, carried.produced);
      this.waitingOn.set(id, plan.nodes.get(id)!.upstream.size);
    }
    // Carried nodes release their dependents: complete() readies a node once its last input is released.
    for (const id of plan.order) {
      if (finished.has(id)) this.complete(id);
      else if (plan.nodes.get(id)!.upstream.size === 0) this.ready.push(id);
    }
  }

  /** Finished nodes whose outputs and display reference none of `hashes`, to carry into a repair pass. */
  finishedWithout(hashes: ReadonlySet<string>): Map<string, Finished> {
    const out = new Map<string, Finished>();
    for (const [id, state] of Object.entries(this.states)) {
      const produced = this.produced.get(id);
      if ((state.status !== 'done' && state.status !== 'cached') || !produced) continue;
      const refs = collectArtifactHashes([state.outputs, state.display]);
      if ([...hashes].some((h) => refs.has(h))) continue;
      out.set(id, { state, produced });
    }
    return out;
  }

  start(): Promise<Record<string, NodeRunState>> {
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    const onAbort = () => this.cancelPending();
    this.signal.addEventListener('abort', onAbort, { once: true });
    if (this.signal.aborted) this.cancelPending();
    else this.drain();
    if (this.unsettled === 0) this.finish();
    return done.then(() => {
      this.signal.removeEventListener('abort', onAbort);
      try {
        this.cache.touch(this.touched);
      } catch {
        // LRU bookkeeping only; a failure here must not fail the run
      }
      return this.states;
    });
  }

  status(): RunOutcome['status'] {
    const all = Object.values(this.states);
    if (all.some((s) => s.status === 'cancelled')) return 'cancelled';
    if (all.some((s) => s.status === 'failed' || s.status === 'skipped')) return 'failed';
    return 'succeeded';
  }

  /** Resolves ready nodes: bypass and cache hits complete synchronously, the rest start (bounded). */
  private drain(): void {
    // Cache hits release their dependents synchronously, so a cached chain resolves in one pass; one SQLite
    // transaction around the pass saves a read transaction per lookup. Misses start after it commits.
    const misses: string[] = [];
    if (this.ready.length > 0) this.inTransaction(() => this.resolveReady(misses));
    for (const id of misses) {
      if (this.signal.aborted) break;
      if (this.plan.nodes.get(id)!.entry!.def.heavy) this.launch(id);
      else if (this.runningLight < this.lightLimit) {
        this.runningLight++;
        this.launch(id);
      } else this.lightQueue.push(id);
    }
  }

  private inTransaction(fn: () => void): void {
    const sqlite = this.o.db.sqlite;
    if (sqlite.inTransaction) {
      fn();
      return;
    }
    sqlite.transaction(fn).deferred();
  }

  private resolveReady(misses: string[]): void {
    while (this.ready.length > 0 && !this.signal.aborted) {
      const id = this.ready.shift()!;
      const c = this.plan.nodes.get(id)!;
      if (c.node.bypass) {
        this.completeBypass(c);
        continue;
      }
      const def = c.entry!.def;
      const inputHashes = this.inputHashes(c);
      let key: string | undefined;
      if ((def.cache ?? 'content') === 'content') {
        key = nodeCacheKey({ type: def.type, version: def.version, params: c.params, inputs: inputHashes });
        const hit = this.lookup(key, Object.keys(def.outputs));
        if (hit) {
          const state = this.states[id]!;
          state.status = 'cached';
          state.cacheKey = key;
          state.startedAt = state.finishedAt = Date.now();
          state.durationMs = 0;
          state.outputs = hit.outputs;
          if (hit.display) state.display = hit.display;
          this.touched.push(key);
          this.produced.set(id, { outputs: hit.outputs, hashes: hit.outputHashes });
          this.emit({
            type: 'node.cached',
            ...this.base(id),
            outputs: hit.outputs,
            ...(hit.display ? { display: hit.display } : {}),
          });
          this.complete(id);
          continue;
        }
      }
      if (key !== undefined) this.keys.set(id, key);
      misses.push(id);
    }
  }

  private lookup(key: string, outputs: string[]) {
    try {
      return this.cache.get(key, outputs);
    } catch {
      return undefined;
    }
  }

  private launch(id: string): void {
    this.launched.add(id);
    void this.execute(this.plan.nodes.get(id)!, this.keys.get(id));
  }

  private async execute(c: CompiledNode, key: string | undefined): Promise<void> {
    const id = c.id;
    const def = c.entry!.def;
    const state = this.states[id]!;
    let release: (() => void) | undefined;
    const throttle = new ProgressThrottle(
      (value, max, text) =>
        this.emit({
          type: 'node.progress',
          ...this.base(id),
          value,
          max,
          ...(text === undefined ? {} : { text }),
        }),
      this.o.progressIntervalMs ?? 50,
    );
    try {
      if (def.heavy) release = await this.heavyLock.acquire(this.signal);
      if (this.signal.aborted) throw new DOMException('cancelled', 'AbortError');
      state.status = 'running';
      state.startedAt = Date.now();
      this.emit({ type: 'node.started', ...this.base(id) });
      const ctx = createNodeContext({
        runId: this.run.runId,
        nodeId: id,
        signal: this.signal,
        store: this.o.store,
        itemCache: createItemCache({
          db: this.o.db,
          store: this.o.store,
          nodeType: def.type,
          nodeVersion: def.version,
          signal: this.signal,
        }),
        services: { ...this.o.services, ...this.run.services, workflow: this.doc },
        sinks: {
          progress: (value, max, text) => throttle.report(value, max, text),
          log: (level, message) => {
            if (level === 'warn') state.warnings.push(message);
            this.emit({ type: 'node.log', ...this.base(id), level, message });
          },
          emit: (event: NodeEvent) => this.emit({ type: 'node.event', ...this.base(id), event }),
        },
      });
      const result = await def.run(ctx, this.inputValues(c) as never, c.params as never);
      const checked = validateNodeOutputs(def, result);
      if (!checked.ok) throw new Error(checked.reason);
      const { outputs, display } = checked.value;
      const hashes: Record<string, string> = {};
      for (const [name, value] of Object.entries(outputs)) hashes[name] = valueHash(value);
      if (key !== undefined) {
        try {
          this.cache.put(key, def.type, { outputs, outputHashes: hashes, ...(display ? { display } : {}) });
          state.cacheKey = key;
        } catch (err) {
          state.warnings.push(`result not cached: ${(err as Error).message}`);
        }
      }
      throttle.flush();
      this.finishTimes(state);
      state.status = 'done';
      state.outputs = outputs;
      if (display) state.display = display;
      this.produced.set(id, { outputs, hashes });
      this.emit({ type: 'node.output', ...this.base(id), outputs, ...(display ? { display } : {}) });
      release?.();
      release = undefined;
      this.complete(id);
    } catch (err) {
      throttle.dispose();
      release?.();
      release = undefined;
      if (this.signal.aborted) {
        this.finishTimes(state);
        this.settle(id, 'cancelled');
        this.emit({ type: 'node.cancelled', ...this.base(id) });
      } else {
        const lost = lostArtifact(err);
        if (lost) {
          this.lost.add(lost.hash);
          const message = `input artifact ${lost.hash.slice(0, 12)}… was ${lost instanceof ArtifactNotFoundError ? 'missing' : 'corrupt'} in the store; it was removed and is recomputed`;
          state.warnings.push(message);
          this.emit({ type: 'node.log', ...this.base(id), level: 'warn', message });
        }
        this.fail(c, errorInfo(err));
      }
    } finally {
      throttle.dispose();
      if (!def.heavy) {
        this.runningLight--;
        const next = this.lightQueue.shift();
        if (next !== undefined && !this.signal.aborted) {
          this.runningLight++;
          this.launch(next);
        }
      }
      this.drain();
      this.checkDone();
    }
  }

  private completeBypass(c: CompiledNode): void {
    const outputs: Record<string, unknown> = {};
    const hashes: Record<string, string> = {};
    for (const [out, input] of Object.entries(c.bypass ?? {})) {
      const ref = c.inputs[input]?.[0];
      const from = ref && this.produced.get(ref.node);
      if (!from || !(ref.output in from.outputs)) continue;
      outputs[out] = from.outputs[ref.output];
      hashes[out] = from.hashes[ref.output]!;
    }
    const state = this.states[c.id]!;
    state.status = 'done';
    state.bypassed = true;
    state.outputs = outputs;
    this.produced.set(c.id, { outputs, hashes });
    this.emit({ type: 'node.output', ...this.base(c.id), outputs, bypassed: true });
    this.complete(c.id);
  }

  private inputHashes(c: CompiledNode): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const name of Object.keys(c.entry!.inputs)) {
      out[name] = (c.inputs[name] ?? []).map((r) => this.produced.get(r.node)!.hashes[r.output]!);
    }
    return out;
  }

  private inputValues(c: CompiledNode): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(c.entry!.inputs)) {
      const values = (c.inputs[name] ?? []).map((r) => this.produced.get(r.node)!.outputs[r.output]);
      out[name] = spec.list ? values : values[0];
    }
    return out;
  }

  /** A node finished with outputs: settle it and release its dependents. */
  private complete(id: string): void {
    this.settle(id, this.states[id]!.status);
    for (const down of this.plan.nodes.get(id)!.downstream) {
      if (!this.scope.has(down)) continue;
      const left = this.waitingOn.get(down)! - 1;
      this.waitingOn.set(down, left);
      if (left === 0 && this.states[down]!.status === 'pending') this.ready.push(down);
    }
  }

  private fail(c: CompiledNode, error: NodeErrorInfo): void {
    const state = this.states[c.id]!;
    this.finishTimes(state);
    state.error = error;
    this.settle(c.id, 'failed');
    this.emit({ type: 'node.failed', ...this.base(c.id), error });
    const reason = `not run because node ${c.id} (${c.node.type}) failed`;
    const stack = [...c.downstream];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const s = this.states[id];
      if (s?.status !== 'pending') continue;
      s.reason = reason;
      this.settle(id, 'skipped');
      this.emit({ type: 'node.skipped', ...this.base(id), reason });
      stack.push(...this.plan.nodes.get(id)!.downstream);
    }
  }

  private cancelPending(): void {
    this.ready.length = 0;
    this.lightQueue.length = 0;
    for (const [id, s] of Object.entries(this.states)) {
      if (s.status !== 'pending' || this.launched.has(id)) continue;
      this.settle(id, 'cancelled');
      this.emit({ type: 'node.cancelled', ...this.base(id) });
    }
    this.checkDone();
  }

  private settle(id: string, status: NodeRunState['status']): void {
    this.states[id]!.status = status;
    this.unsettled--;
  }

  private checkDone(): void {
    if (this.unsettled === 0) this.finish();
  }

  private finishTimes(state: NodeRunState): void {
    state.finishedAt = Date.now();
    if (state.startedAt !== undefined) state.durationMs = state.finishedAt - state.startedAt;
  }

  private base(nodeId: string) {
    return { runId: this.run.runId, nodeId, ts: Date.now() };
  }

  private emit(event: ExecutorEvent): void {
    if (!this.run.onEvent) return;
    try {
      this.run.onEvent(event);
    } catch (err) {
      console.error(`executor: onEvent handler threw for ${event.type}:`, err);
    }
  }
}

/** The hash of a stored artifact found corrupt or missing anywhere in an error's cause chain. */
function lostArtifact(err: unknown): ArtifactCorruptError | ArtifactNotFoundError | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e instanceof ArtifactCorruptError || e instanceof ArtifactNotFoundError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorInfo(err: unknown): NodeErrorInfo {
  if (err instanceof Error) {
    const hint = (err as { hint?: unknown }).hint;
    return typeof hint === 'string' ? { message: err.message, hint } : { message: err.message };
  }
  return { message: String(err) };
}
