import type { z } from 'zod';

/** `['nodes', 3, 'position', 'x']` → `nodes[3].position.x`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

const fmt = (v: unknown) => (typeof v === 'bigint' ? v.toString() : String(v));

/** A zod issue as a short sentence a user understands, e.g. `must be ≤ 150`. */
export function describeIssue(issue: z.core.$ZodIssue, input?: unknown): string {
  switch (issue.code) {
    case 'too_big': {
      const op = issue.inclusive ? '≤' : '<';
      if (issue.origin === 'string') return `must be at most ${fmt(issue.maximum)} characters`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must have at most ${fmt(issue.maximum)} items`;
      return `must be ${op} ${fmt(issue.maximum)}`;
    }
    case 'too_small': {
      const op = issue.inclusive ? '≥' : '>';
      if (issue.origin === 'string') {
        return issue.minimum === 1
          ? 'must not be empty'
          : `must be at least ${fmt(issue.minimum)} characters`;
      }
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must have at least ${fmt(issue.minimum)} items`;
      return `must be ${op} ${fmt(issue.minimum)}`;
    }
    case 'invalid_type': {
      const got = describeValue(valueAt(input, issue.path));
      if (issue.expected === 'int') return `must be a whole number (got ${got})`;
      if (got === 'nothing') return `is required (expected ${article(issue.expected)})`;
      return `must be ${article(issue.expected)} (got ${got})`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${fmt(issue.divisor)}`;
    case 'unrecognized_keys':
      return `unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.join(', ')}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v;
}

/** Flattens a zod error into `path: message` pairs. */
export function issuesToFields(
  error: z.ZodError,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): { field: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    return { field: formatPath(path), message: describeIssue(issue, input) };
  });
}
