import type { AnyNodeDefinition, NodeDisplay } from '../../nodes/sdk/defineNode.ts';
import { socketValueSchemas } from '../../nodes/sdk/values.ts';
import { describeIssue, formatPath } from '../workflow/zodIssues.ts';

export type CheckedResult = { outputs: Record<string, unknown>; display?: NodeDisplay };

/**
 * Checks what `run()` returned against the node's output sockets. Values are parsed (defaults applied) so
 * that downstream nodes and the cache see the normalised shape.
 */
export function validateNodeOutputs(
  def: AnyNodeDefinition,
  result: unknown,
): { ok: true; value: CheckedResult } | { ok: false; reason: string } {
  if (result === null || typeof result !== 'object' || !('outputs' in result)) {
    return {
      ok: false,
      reason: `${def.type} returned ${describe(result)}; run() must return { outputs: {...} }`,
    };
  }
  const r = result as { outputs: unknown; display?: unknown };
  if (r.outputs === null || typeof r.outputs !== 'object' || Array.isArray(r.outputs)) {
    return { ok: false, reason: `${def.type} returned outputs that are not an object` };
  }
  const given = r.outputs as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(def.outputs)) {
    if (!(name in given) || given[name] === undefined) {
      problems.push(`output ${name} is missing`);
      continue;
    }
    const parsed = socketValueSchemas[spec.type].safeParse(given[name]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = issue.path.length > 0 ? `.${formatPath(issue.path)}` : '';
      problems.push(
        `output ${name}${path}: ${describeIssue(issue, given[name])} (expected ${/^[AEIOU]/.test(spec.type) ? 'an' : 'a'} ${spec.type} value)`,
      );
      continue;
    }
    outputs[name] = parsed.data;
  }
  for (const name of Object.keys(given)) {
    if (!(name in def.outputs)) problems.push(`output ${name} is not declared by the node`);
  }
  if (
    r.display !== undefined &&
    (r.display === null || typeof r.display !== 'object' || Array.isArray(r.display))
  ) {
    problems.push('display must be an object');
  }
  if (problems.length > 0) {
    return { ok: false, reason: `${def.type} returned invalid outputs: ${problems.join('; ')}` };
  }
  const value: CheckedResult = { outputs };
  if (r.display !== undefined) value.display = r.display as NodeDisplay;
  return { ok: true, value };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object without outputs' : typeof v;
}
