import { z } from 'zod';

export const WORKFLOW_FORMAT = 'loraflow.workflow';
export const WORKFLOW_VERSION = 1;

const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'ids may only contain letters, digits, _ . : -');
const Finite = z.number().finite();

export const WorkflowNode = z.strictObject({
  id: Id,
  /** Node type id; an unknown one loads as a placeholder and is kept as saved. */
  type: z.string().min(1),
  /**
   * Version of the node definition the params were saved with (semver). Not enforced here so that a
   * placeholder from a foreign pack still loads; validation checks it for known node types.
   */
  version: z.string().min(1).max(64),
  title: z.string().max(200).optional(),
  /** Params by name, never positional. */
  params: z.record(z.string(), z.unknown()),
  position: z.strictObject({ x: Finite, y: Finite }),
  /** A bypassed node passes its first input of a matching type through to each output. */
  bypass: z.boolean().optional(),
  size: z.strictObject({ width: Finite.positive(), height: Finite.positive() }).optional(),
});
export type WorkflowNode = z.infer<typeof WorkflowNode>;

export const WorkflowLink = z.strictObject({
  id: Id,
  from: z.strictObject({ node: Id, output: z.string().min(1) }),
  to: z.strictObject({ node: Id, input: z.string().min(1) }),
});
export type WorkflowLink = z.infer<typeof WorkflowLink>;

export const WorkflowGroup = z.strictObject({
  id: Id,
  title: z.string().max(200),
  bounds: z.strictObject({ x: Finite, y: Finite, width: Finite.nonnegative(), height: Finite.nonnegative() }),
  color: z.string().max(32).optional(),
});
export type WorkflowGroup = z.infer<typeof WorkflowGroup>;

/** Document metadata; extra keys (e.g. author, tags) are kept. */
export const WorkflowMeta = z.looseObject({
  name: z.string().max(200),
  description: z.string().max(10_000).default(''),
  created_with: z.string().max(200),
});
export type WorkflowMeta = z.infer<typeof WorkflowMeta>;

export const WorkflowDocument = z
  .strictObject({
    format: z.literal(WORKFLOW_FORMAT),
    version: z.literal(WORKFLOW_VERSION),
    nodes: z.array(WorkflowNode),
    links: z.array(WorkflowLink),
    groups: z.array(WorkflowGroup).optional(),
    meta: WorkflowMeta,
  })
  .superRefine((doc, ctx) => {
    const seen = new Set<string>();
    doc.nodes.forEach((n, i) => {
      if (seen.has(n.id))
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'id'], message: `duplicate node id ${n.id}` });
      seen.add(n.id);
    });
    const links = new Set<string>();
    doc.links.forEach((l, i) => {
      if (links.has(l.id))
        ctx.addIssue({ code: 'custom', path: ['links', i, 'id'], message: `duplicate link id ${l.id}` });
      links.add(l.id);
    });
  });
export type WorkflowDocument = z.infer<typeof WorkflowDocument>;
export type WorkflowDocumentInput = z.input<typeof WorkflowDocument>;
