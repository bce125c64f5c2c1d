import type { NodeRegistry } from '../../nodes/sdk/registry.ts';
import type { WorkflowDocument } from '../workflow/schema.ts';
import { CliError, EXIT_USAGE } from './cliError.ts';
import { applyAssignments, type ParamAssignment, parseSetArg } from './setParams.ts';

/** Applies every `--set nodeId.param=value` to the document, or throws one CliError listing all problems. */
export function applySets(
  doc: WorkflowDocument,
  sets: readonly string[] | undefined,
  registry: NodeRegistry,
): void {
  if (!sets || sets.length === 0) return;
  const assignments: ParamAssignment[] = [];
  const errors: string[] = [];
  for (const raw of sets) {
    const r = parseSetArg(raw);
    if (r.ok) assignments.push(r.assignment);
    else errors.push(r.reason);
  }
  errors.push(
    ...applyAssignments(doc.nodes, assignments, (type) => {
      const def = registry.get(type);
      return def ? Object.keys(def.params.shape) : undefined;
    }),
  );
  if (errors.length > 0) throw new CliError(errors.join('\n'), EXIT_USAGE);
}
