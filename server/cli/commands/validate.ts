import { formatNodeError, type NodeError } from '../../workflow/nodeErrors.ts';
import { validateWorkflow } from '../../workflow/validate.ts';
import { applySets } from '../applySets.ts';
import { EXIT_FAILED, EXIT_OK } from '../cliError.ts';
import { parseCommandArgs } from '../parse.ts';
import { loadRegistry } from '../registry.ts';
import { readWorkflowFile } from '../workflowFile.ts';

/** `loraflow validate <workflow.json>`: every problem per node and field; exit 1 when there is any. */
export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('validate', argv, {
    set: { type: 'string', multiple: true },
    output: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  const registry = await loadRegistry();
  const loaded = await readWorkflowFile(positionals[0], 'validate', registry);
  applySets(loaded.doc, values.set, registry);
  const result = validateWorkflow(loaded.doc, registry, values.output ? { outputs: values.output } : {});
  const errors: NodeError[] = [...loaded.nodeErrors, ...(result.ok ? [] : result.errors)];
  // load's node-version errors are reported by validation too; keep each message once.
  const unique = [...new Map(errors.map((e) => [formatNodeError(e), e])).values()];
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok: unique.length === 0, errors: unique })}\n`);
    return unique.length === 0 ? EXIT_OK : EXIT_FAILED;
  }
  for (const m of loaded.migratedNodes) {
    process.stdout.write(`note: node ${m.nodeId} (${m.type}) upgraded from ${m.from} to ${m.to}\n`);
  }
  if (unique.length === 0) {
    process.stdout.write(`${loaded.path}: ok (${loaded.doc.nodes.length} nodes)\n`);
    return EXIT_OK;
  }
  process.stderr.write(`${loaded.path}: ${unique.length} problem${unique.length === 1 ? '' : 's'}\n`);
  for (const e of unique) process.stderr.write(`  ${formatNodeError(e)}\n`);
  return EXIT_FAILED;
}
