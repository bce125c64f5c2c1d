import type { ArtifactStore } from './artifacts.ts';

/** Rich events a node can emit besides progress, e.g. training metrics or sample previews. */
export type NodeEvent = { type: string; data: unknown };

export interface NodeLogger {
  info(message: string): void;
  /** Warnings are shown on the node in the editor and printed by the CLI. */
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Per-item cache for nodes that map over many items: only items whose (item key, params) pair is new run.
 * Results must be JSON-serialisable.
 */
export interface PerItemCache {
  map<T, R>(
    items: readonly T[],
    options: {
      /** Stable key of the item's content, e.g. its artifact hash. */
      key: (item: T) => string;
      /** Everything besides the item that changes the result (params, model hash...). */
      salt: unknown;
      concurrency?: number;
      run: (item: T, index: number) => Promise<R>;
      /** Called after each item, cached or computed, with how many are done. */
      onItem?: (done: number, total: number, cached: boolean) => void;
    },
  ): Promise<R[]>;
}

export interface NodeContext {
  readonly runId: string;
  readonly nodeId: string;
  /** Report progress; throttled to 20 Hz per node by the executor and flushed before the output. */
  progress(value: number, max: number, text?: string): void;
  /** Cooperative cancellation: long loops must check it (or pass it on) at least once a second. */
  readonly signal: AbortSignal;
  readonly log: NodeLogger;
  readonly store: ArtifactStore;
  readonly itemCache: PerItemCache;
  emit(event: NodeEvent): void;
  /** Services a node may need (engine client, configured roots, the workflow being run). */
  readonly services: NodeServices;
}

/**
 * Services are registered by the server at start-up. Each is optional so that the executor can run
 * light nodes in tests without an engine; a node that needs a missing service fails with a clear error.
 */
export interface NodeServices {
  /** The workflow document being executed, e.g. to embed it into saved files. */
  workflow?: unknown;
  [name: string]: unknown;
}
