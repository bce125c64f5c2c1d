import { z } from 'zod';
import type { RegistryDescription } from '../../../nodes/sdk/registry.ts';
import { UiHint } from '../../../nodes/sdk/ui.ts';
import { type JsonSchema, JsonSchemaLike } from './jsonSchema.ts';

/**
 * The shape of `GET /api/nodes` as the editor reads it. Socket specs are parsed leniently (a type unknown
 * to this build still loads, coloured grey) because the server is the authority on which types exist.
 */
export const NodeInputDef = z.object({
  type: z.string(),
  optional: z.boolean().default(false),
  list: z.boolean().default(false),
  label: z.string().optional(),
  description: z.string().optional(),
});
export type NodeInputDef = z.infer<typeof NodeInputDef>;

export const NodeOutputDef = z.object({
  type: z.string(),
  label: z.string().optional(),
  description: z.string().optional(),
});
export type NodeOutputDef = z.infer<typeof NodeOutputDef>;

export const NodeDef = z.object({
  type: z.string(),
  version: z.string(),
  title: z.string(),
  category: z.string().default('other'),
  description: z.string().default(''),
  inputs: z.record(z.string(), NodeInputDef).default({}),
  outputs: z.record(z.string(), NodeOutputDef).default({}),
  params: JsonSchemaLike.default({ type: 'object', properties: {} }),
  heavy: z.boolean().default(false),
  output: z.boolean().default(false),
  cache: z.string().optional(),
});
export type NodeDef = z.infer<typeof NodeDef>;

export const SocketTypeDef = z.object({
  color: z.string(),
  description: z.string().optional(),
});
export type SocketTypeDef = z.infer<typeof SocketTypeDef>;

/** Accepts `{nodes, sockets}` or a bare node array (sockets then default to grey). */
export const NodesResponse = z.union([
  z.object({
    nodes: z.array(NodeDef),
    sockets: z.record(z.string(), SocketTypeDef).default({}),
  }),
  z.array(NodeDef).transform((nodes) => ({ nodes, sockets: {} as Record<string, SocketTypeDef> })),
]);
export type NodesResponse = z.infer<typeof NodesResponse>;

export type NodeDefs = {
  byType: Record<string, NodeDef>;
  sockets: Record<string, SocketTypeDef>;
};

export function indexNodeDefs(res: NodesResponse): NodeDefs {
  const byType: Record<string, NodeDef> = {};
  for (const def of res.nodes) byType[def.type] = def;
  return { byType, sockets: res.sockets };
}

export const FALLBACK_SOCKET_COLOR = '#9e9e9e';

export function socketColor(defs: NodeDefs, type: string): string {
  return defs.sockets[type]?.color ?? FALLBACK_SOCKET_COLOR;
}

/** The UI hint of a param schema (`ui` meta from the SDK), parsed with the SDK's own schema. */
export function uiHintOf(schema: JsonSchema): z.infer<typeof UiHint> {
  const parsed = UiHint.safeParse(schema.ui ?? {});
  return parsed.success ? parsed.data : { group: 'basic' };
}

/** Default params from a node's JSON Schema (`default` of each property). */
export function defaultParams(def: NodeDef): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(def.params.properties ?? {})) {
    if (prop.default !== undefined) out[key] = structuredClone(prop.default);
  }
  return out;
}

/**
 * Compile-time proof that what the server's registry describes (`registry.describe()`, served by
 * `GET /api/nodes`) is accepted by the schema above, so the two cannot drift apart silently.
 */
type Accepts<T extends z.input<typeof NodesResponse>> = T;
export type ServerNodesResponse = Accepts<RegistryDescription>;
