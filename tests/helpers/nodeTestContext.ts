import { randomUUID } from 'node:crypto';
import type { NodeContext, NodeEvent, NodeServices } from '../../nodes/sdk/context.ts';
import type { AnyNodeDefinition, NodeDisplay } from '../../nodes/sdk/defineNode.ts';
import { createNodeContext, type LogLevel } from '../../server/executor/nodeContext.ts';
import { validateNodeOutputs } from '../../server/executor/outputs.ts';
import { createArtifactStore, type FileArtifactStore } from '../../server/store/artifactStore.ts';
import { type AppDatabase, openDatabase } from '../../server/store/database.ts';
import { createItemCache } from '../../server/store/itemCache.ts';

export type NodeTestContextOptions = {
  /** A fresh temp dir per test; the database and artifacts live there (reuse it to test persistence). */
  dataDir: string;
  services?: NodeServices;
  runId?: string;
  nodeId?: string;
  /** Node type/version the per-item cache keys on; pass the definition's values to test caching. */
  nodeType?: string;
  nodeVersion?: string;
  signal?: AbortSignal;
};

export type NodeTestContext = {
  ctx: NodeContext;
  store: FileArtifactStore;
  db: AppDatabase;
  progress: { value: number; max: number; text?: string }[];
  logs: { level: LogLevel; message: string }[];
  /** Shorthand for the messages of warn-level logs. */
  warnings: string[];
  events: NodeEvent[];
  /** Aborts the context's signal (when no external signal was given). */
  abort(): void;
  close(): void;
};

/** A REAL NodeContext (real artifact store, real SQLite per-item cache) that records what the node reports. */
export function createNodeTestContext(options: NodeTestContextOptions): NodeTestContext {
  const db = openDatabase(options.dataDir);
  const store = createArtifactStore(db);
  const controller = new AbortController();
  const signal = options.signal ?? controller.signal;
  const progress: NodeTestContext['progress'] = [];
  const logs: NodeTestContext['logs'] = [];
  const warnings: string[] = [];
  const events: NodeEvent[] = [];
  const itemCache = createItemCache({
    db,
    store,
    nodeType: options.nodeType ?? 'test/context/node',
    nodeVersion: options.nodeVersion ?? '1.0.0',
    signal,
  });
  const ctx = createNodeContext({
    runId: options.runId ?? randomUUID(),
    nodeId: options.nodeId ?? 'node',
    signal,
    store,
    itemCache,
    services: options.services ?? {},
    sinks: {
      progress: (value, max, text) =>
        progress.push(text === undefined ? { value, max } : { value, max, text }),
      log: (level, message) => {
        logs.push({ level, message });
        if (level === 'warn') warnings.push(message);
      },
      emit: (event) => events.push(event),
    },
  });
  return {
    ctx,
    store,
    db,
    progress,
    logs,
    warnings,
    events,
    abort: () => controller.abort(),
    close: () => db.close(),
  };
}

/**
 * Runs one node definition the way the executor does: params parsed through the node's zod schema (defaults
 * applied) and outputs validated against the socket value schemas. Throws with the node's own error.
 */
export async function runNodeForTest(
  def: AnyNodeDefinition,
  t: NodeTestContext,
  inputs: Record<string, unknown>,
  params: Record<string, unknown> = {},
): Promise<{ outputs: Record<string, unknown>; display?: NodeDisplay }> {
  const parsed = def.params.safeParse(params);
  if (!parsed.success) {
    throw new Error(
      `${def.type}: bad params: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  }
  const result = await def.run(t.ctx, inputs as never, parsed.data);
  const checked = validateNodeOutputs(def, result);
  if (!checked.ok) throw new Error(checked.reason);
  return checked.value.display === undefined
    ? { outputs: checked.value.outputs }
    : { outputs: checked.value.outputs, display: checked.value.display };
}
