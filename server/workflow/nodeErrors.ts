import { z } from 'zod';

/** What kind of problem a validation error is; the editor may style or group them by kind. */
export const NodeErrorKind = z.enum([
  'document',
  'unknown-node-type',
  'node-version',
  'missing-input',
  'unknown-input',
  'unknown-output',
  'unknown-node',
  'type-mismatch',
  'too-many-links',
  'bad-param',
  'cycle',
  'bypass',
  'no-output',
  'not-an-output',
]);
export type NodeErrorKind = z.infer<typeof NodeErrorKind>;

/**
 * One problem, attached to a node (null for whole-workflow problems) and, when it is about one field, to
 * that field (`params.steps`, `inputs.images`).
 */
export const NodeError = z.object({
  nodeId: z.string().nullable(),
  /** The node's type, when the node exists (helps CLI output). */
  nodeType: z.string().optional(),
  field: z.string().optional(),
  kind: NodeErrorKind,
  message: z.string(),
});
export type NodeError = z.infer<typeof NodeError>;

export type ValidationResult = { ok: true } | { ok: false; errors: NodeError[] };

/** One line per error, e.g. `node 3 (loraflow/train/lora) params.steps: must be ≤ 150`. */
export function formatNodeError(e: NodeError): string {
  const where = e.nodeId === null ? 'workflow' : `node ${e.nodeId}${e.nodeType ? ` (${e.nodeType})` : ''}`;
  return `${where}${e.field ? ` ${e.field}` : ''}: ${e.message}`;
}
