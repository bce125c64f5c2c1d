/** One `--set nodeId.param=value` assignment. */
export type ParamAssignment = { nodeId: string; param: string; value: unknown; raw: string };

export type ParseSetResult = { ok: true; assignment: ParamAssignment } | { ok: false; reason: string };

/**
 * Parses `nodeId.param=value`. Param names are identifiers, so the key splits at its last dot (node ids may
 * contain dots). The value is JSON when it parses (`12`, `true`, `"text"`, `[1,2]`), else the literal string.
 */
export function parseSetArg(raw: string): ParseSetResult {
  const eq = raw.indexOf('=');
  if (eq <= 0) return { ok: false, reason: `--set ${raw}: expected nodeId.param=value` };
  const key = raw.slice(0, eq);
  const text = raw.slice(eq + 1);
  const dot = key.lastIndexOf('.');
  if (dot <= 0 || dot === key.length - 1) {
    return { ok: false, reason: `--set ${raw}: expected nodeId.param=value (e.g. --set sampler.steps=30)` };
  }
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: the value is the string itself, so --set n.prompt=a photo of a cat works unquoted.
  }
  return { ok: true, assignment: { nodeId: key.slice(0, dot), param: key.slice(dot + 1), value, raw } };
}

type NodeLike = { id: string; type: string; params?: Record<string, unknown> };

/**
 * Applies assignments to a workflow's nodes (in place). `paramNames(type)` lists a type's params when the type
 * is known, so a typo is reported with the valid names; the values themselves are checked by validation.
 */
export function applyAssignments(
  nodes: NodeLike[],
  assignments: readonly ParamAssignment[],
  paramNames: (type: string) => string[] | undefined,
): string[] {
  const errors: string[] = [];
  for (const a of assignments) {
    const node = nodes.find((n) => n.id === a.nodeId);
    if (!node) {
      errors.push(
        `--set ${a.raw}: no node with id "${a.nodeId}" (nodes: ${nodes.map((n) => n.id).join(', ')})`,
      );
      continue;
    }
    const names = paramNames(node.type);
    if (names && !names.includes(a.param)) {
      errors.push(
        `--set ${a.raw}: node "${a.nodeId}" (${node.type}) has no param "${a.param}"` +
          (names.length ? ` (params: ${names.join(', ')})` : ' (it has no params)'),
      );
      continue;
    }
    node.params = { ...(node.params ?? {}), [a.param]: a.value };
  }
  return errors;
}
