import { randomUUID } from 'node:crypto';
import type { NodeServices } from '../../nodes/sdk/context.ts';
import type { AnyNodeDefinition } from '../../nodes/sdk/defineNode.ts';
import type { NodeRegistry } from '../../nodes/sdk/registry.ts';
import type { ExecutorEvent } from '../../server/executor/events.ts';
import { createExecutor, type Executor, type RunOptions } from '../../server/executor/executor.ts';
import type { RunOutcome } from '../../server/executor/runState.ts';
import type { Semaphore } from '../../server/executor/semaphore.ts';
import { createArtifactStore, type FileArtifactStore } from '../../server/store/artifactStore.ts';
import { type AppDatabase, openDatabase } from '../../server/store/database.ts';
import type { WorkflowDocument } from '../../server/workflow/schema.ts';
import { createTestRegistry } from './testNodes.ts';

export type TestExecutor = {
  executor: Executor;
  registry: NodeRegistry;
  db: AppDatabase;
  store: FileArtifactStore;
  /** Runs a workflow and collects its events. */
  run(
    doc: WorkflowDocument,
    options?: Partial<RunOptions>,
  ): Promise<{ outcome: RunOutcome; events: ExecutorEvent[] }>;
  close(): void;
};

/** A real executor over a real database and artifact store in `dataDir`, with the test nodes registered. */
export function createTestExecutor(options: {
  dataDir: string;
  extraNodes?: AnyNodeDefinition[];
  services?: NodeServices;
  heavyLock?: Semaphore;
  lightConcurrency?: number;
}): TestExecutor {
  const db = openDatabase(options.dataDir);
  const store = createArtifactStore(db);
  const registry = createTestRegistry(options.extraNodes ?? []);
  const executor = createExecutor({
    registry,
    db,
    store,
    ...(options.services ? { services: options.services } : {}),
    ...(options.heavyLock ? { heavyLock: options.heavyLock } : {}),
    ...(options.lightConcurrency ? { lightConcurrency: options.lightConcurrency } : {}),
  });
  return {
    executor,
    registry,
    db,
    store,
    async run(doc, runOptions = {}) {
      const events: ExecutorEvent[] = [];
      const outcome = await executor.run(doc, {
        runId: runOptions.runId ?? randomUUID(),
        ...runOptions,
        onEvent: (e) => {
          events.push(e);
          runOptions.onEvent?.(e);
        },
      });
      return { outcome, events };
    },
    close: () => db.close(),
  };
}

/** `{ nodeId: status }` of an outcome, for compact assertions. */
export function statuses(outcome: RunOutcome): Record<string, string> {
  return Object.fromEntries(Object.entries(outcome.nodes).map(([id, s]) => [id, s.status]));
}
