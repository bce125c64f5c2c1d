import { randomUUID } from 'node:crypto';
import { createEngineConnection, type EngineClientConnection } from '../../api/system/engineConnection.ts';
import { loadConfig } from '../../config/config.ts';
import { createExecutor } from '../../executor/executor.ts';
import { createRoots } from '../../fs/roots.ts';
import { RunRepository } from '../../queue/runRepository.ts';
import { createArtifactStore } from '../../store/artifactStore.ts';
import { openDatabase } from '../../store/database.ts';
import { createCacheGc } from '../../store/gc.ts';
import { formatNodeError } from '../../workflow/nodeErrors.ts';
import { applySets } from '../applySets.ts';
import { EXIT_FAILED, EXIT_OK } from '../cliError.ts';
import { parseCommandArgs } from '../parse.ts';
import { JsonRenderer } from '../progress/jsonRenderer.ts';
import { PlainRenderer } from '../progress/plainRenderer.ts';
import type { PlannedNode, RunRenderer } from '../progress/renderer.ts';
import { TtyRenderer } from '../progress/ttyRenderer.ts';
import { loadRegistry } from '../registry.ts';
import { readWorkflowFile } from '../workflowFile.ts';

export const EXIT_CANCELLED = 130;

/**
 * `loraflow run <workflow.json>`: runs headless in this process, on the same data directory (and so the same
 * persistent cache) as the server. Exit 0 on success, 1 when a node failed or the workflow is invalid.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('run', argv, {
    set: { type: 'string', multiple: true },
    output: { type: 'string', multiple: true },
    'output-dir': { type: 'string' },
    json: { type: 'boolean' },
    data: { type: 'string' },
    config: { type: 'string' },
  });
  const out = (s: string) => process.stdout.write(s);
  const err = (s: string) => process.stderr.write(s);
  const config = loadConfig({
    overrides: {
      ...(values.data ? { dataDir: values.data } : {}),
      ...(values.config ? { configPath: values.config } : {}),
      ...(values['output-dir'] ? { outputDir: values['output-dir'] } : {}),
    },
  });
  const registry = await loadRegistry();
  const loaded = await readWorkflowFile(positionals[0], 'run', registry);
  applySets(loaded.doc, values.set, registry);

  const db = openDatabase(config.dataDir);
  let engine: EngineClientConnection | undefined;
  try {
    const store = createArtifactStore(db);
    // The engine process starts only if a node sends it a request.
    engine = createEngineConnection(config.engine.binary, config.dataDir);
    const executor = createExecutor({
      registry,
      db,
      store,
      services: { roots: createRoots(config.roots), engine: engine.client },
    });
    const outputs = values.output;
    const planned = executor.plan(loaded.doc, outputs);
    const runId = randomUUID();
    const renderer: RunRenderer = values.json
      ? new JsonRenderer(out)
      : process.stdout.isTTY
        ? new TtyRenderer(process.stdout, err)
        : new PlainRenderer(out, err);
    if (!planned.ok) {
      if (values.json) {
        out(
          `${JSON.stringify({ type: 'run.failed', runId, ts: Date.now(), status: 'failed', errors: planned.errors })}\n`,
        );
      } else {
        err(
          `${loaded.path}: the workflow cannot run (${planned.errors.length} problem${planned.errors.length === 1 ? '' : 's'})\n`,
        );
        for (const e of planned.errors) err(`  ${formatNodeError(e)}\n`);
      }
      return EXIT_FAILED;
    }
    const nodes: PlannedNode[] = planned.plan.order.map((id) => {
      const c = planned.plan.nodes.get(id)!;
      return { id, type: c.node.type, title: c.node.title ?? c.entry?.def.title ?? c.node.type };
    });

    const controller = new AbortController();
    const onSignal = () => {
      if (controller.signal.aborted) process.exit(EXIT_CANCELLED);
      if (!values.json) err('\ncancelling (press Ctrl+C again to quit at once)\n');
      controller.abort(new DOMException('cancelled by the user', 'AbortError'));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    renderer.start(runId, nodes);
    const outcome = await executor.run(loaded.doc, {
      runId,
      ...(outputs ? { outputs } : {}),
      signal: controller.signal,
      onEvent: (e) => renderer.event(e),
    });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    renderer.finish(outcome);

    const gc = createCacheGc(db, store);
    if (gc.usage().totalBytes > config.cache.maxBytes) {
      gc.collect({ maxBytes: config.cache.maxBytes, pinned: new RunRepository(db).unfinishedReferences() });
    }
    switch (outcome.status) {
      case 'succeeded':
        return EXIT_OK;
      case 'failed':
        return EXIT_FAILED;
      case 'cancelled':
        return EXIT_CANCELLED;
      default: {
        const never: never = outcome.status;
        throw new Error(`unknown run status ${String(never)}`);
      }
    }
  } finally {
    await engine?.connection.close();
    db.close();
  }
}
