import { z } from 'zod';
import type { AnyNodeDefinition } from './defineNode.ts';
import { InputSocketSpec, OutputSocketSpec, type SocketTypeId, socketTypes } from './sockets.ts';

/** Namespaced type id: `owner/category/name`, lowercase kebab-case segments (more segments allowed). */
export const NODE_TYPE_RE = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*){2,}$/;
export const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
export const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type NormalizedInput = z.output<typeof InputSocketSpec>;
export type NormalizedOutput = z.output<typeof OutputSocketSpec>;

/** JSON-serialisable description of a node type, as served by `GET /api/nodes`. */
export type NodeDescription = {
  type: string;
  version: string;
  title: string;
  category: string;
  description: string;
  inputs: Record<string, NormalizedInput>;
  outputs: Record<string, NormalizedOutput>;
  /** JSON Schema of the params (input side: defaults are optional), with `ui` hints from `.meta()`. */
  params: Record<string, unknown>;
  heavy: boolean;
  cache: 'content' | 'never';
  output: boolean;
  /** Whether the node can upgrade params saved by older versions. */
  migrates: boolean;
};

export type SocketTypeDescription = { color: string; description: string };

export type RegistryDescription = {
  sockets: Record<SocketTypeId, SocketTypeDescription>;
  nodes: NodeDescription[];
};

/** A registered node: its definition plus the normalised socket specs the executor and validator use. */
export type RegisteredNode = {
  def: AnyNodeDefinition;
  inputs: Record<string, NormalizedInput>;
  outputs: Record<string, NormalizedOutput>;
  description: NodeDescription;
};

export class NodeDefinitionError extends Error {
  constructor(
    readonly nodeType: string,
    readonly problems: string[],
  ) {
    super(`invalid node definition ${nodeType}: ${problems.join('; ')}`);
    this.name = 'NodeDefinitionError';
  }
}

export type DefinitionCheck = { ok: true; node: RegisteredNode } | { ok: false; problems: string[] };

/** Checks a definition without registering it; returns every problem found. */
export function checkNodeDefinition(def: AnyNodeDefinition): DefinitionCheck {
  const problems: string[] = [];
  const d = def as Partial<AnyNodeDefinition>;
  if (typeof d.type !== 'string' || !NODE_TYPE_RE.test(d.type)) {
    problems.push(
      `type ${JSON.stringify(d.type)} must be namespaced as owner/category/name in lowercase kebab-case, e.g. loraflow/image/crop-resize`,
    );
  }
  if (typeof d.version !== 'string' || !SEMVER_RE.test(d.version)) {
    problems.push(`version ${JSON.stringify(d.version)} is not semver (major.minor.patch, e.g. 1.0.0)`);
  }
  for (const field of ['title', 'category', 'description'] as const) {
    if (typeof d[field] !== 'string' || (field !== 'description' && d[field].trim() === '')) {
      problems.push(`${field} must be a${field === 'description' ? '' : ' non-empty'} string`);
    }
  }
  if (typeof d.run !== 'function') problems.push('run must be a function');
  if (d.migrate !== undefined && typeof d.migrate !== 'function') problems.push('migrate must be a function');
  if (d.heavy !== undefined && typeof d.heavy !== 'boolean') problems.push('heavy must be a boolean');
  if (d.output !== undefined && typeof d.output !== 'boolean') problems.push('output must be a boolean');
  if (d.cache !== undefined && d.cache !== 'content' && d.cache !== 'never') {
    problems.push(`cache must be 'content' or 'never', got ${JSON.stringify(d.cache)}`);
  }

  const inputs = checkSockets('input', d.inputs, InputSocketSpec, problems);
  const outputs = checkSockets('output', d.outputs, OutputSocketSpec, problems);

  let params: Record<string, unknown> = {};
  if (!(d.params instanceof z.ZodObject)) {
    problems.push('params must be a zod object, e.g. z.object({ steps: z.number().int().default(20) })');
  } else {
    for (const [name, schema] of Object.entries(d.params.shape)) {
      if (!IDENTIFIER_RE.test(name)) problems.push(`param name ${JSON.stringify(name)} is not an identifier`);
      const bad = checkDefault(schema as z.ZodType);
      if (bad) problems.push(`param ${name}: ${bad}`);
    }
    try {
      params = z.toJSONSchema(d.params, { io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>;
      delete params.$schema;
    } catch (err) {
      problems.push(`params cannot be described as JSON Schema for the editor: ${(err as Error).message}`);
    }
  }

  if (problems.length > 0) return { ok: false, problems };
  const description: NodeDescription = {
    type: def.type,
    version: def.version,
    title: def.title,
    category: def.category,
    description: def.description,
    inputs,
    outputs,
    params,
    heavy: def.heavy === true,
    cache: def.cache ?? 'content',
    output: def.output === true,
    migrates: typeof def.migrate === 'function',
  };
  return { ok: true, node: { def, inputs, outputs, description } };
}

function checkSockets<S extends typeof InputSocketSpec | typeof OutputSocketSpec>(
  kind: 'input' | 'output',
  specs: unknown,
  schema: S,
  problems: string[],
): Record<string, z.output<S>> {
  const out: Record<string, z.output<S>> = {};
  if (specs === null || typeof specs !== 'object' || Array.isArray(specs)) {
    problems.push(`${kind}s must be an object of socket specs`);
    return out;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (!IDENTIFIER_RE.test(name)) problems.push(`${kind} name ${JSON.stringify(name)} is not an identifier`);
    const type = (spec as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !(type in socketTypes)) {
      problems.push(
        `${kind} ${name}: unknown socket type ${JSON.stringify(type)} (known: ${Object.keys(socketTypes).join(', ')})`,
      );
      continue;
    }
    const parsed = schema.safeParse(spec);
    if (!parsed.success) {
      problems.push(
        `${kind} ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join(', ')}`,
      );
      continue;
    }
    out[name] = parsed.data as z.output<S>;
  }
  return out;
}

/** A default that its own schema rejects would surface as a confusing runtime error; catch it here. */
function checkDefault(schema: z.ZodType): string | undefined {
  let s: z.ZodType = schema;
  for (let depth = 0; depth < 8; depth++) {
    const def = s.def as { type: string; defaultValue?: unknown; innerType?: z.ZodType };
    if (def.type === 'default' || def.type === 'prefault') {
      const inner = def.innerType!;
      const value = def.defaultValue;
      const parsed = inner.safeParse(value);
      if (!parsed.success) {
        return `default ${JSON.stringify(value)} is invalid: ${parsed.error.issues.map((i) => i.message).join(', ')}`;
      }
      return undefined;
    }
    if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'readonly') && def.innerType) {
      s = def.innerType;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** The set of node types a server (or a test) knows. */
export class NodeRegistry {
  private readonly nodes = new Map<string, RegisteredNode>();

  /** Registers a definition; throws NodeDefinitionError listing every problem if it is invalid. */
  register(def: AnyNodeDefinition): this {
    const any = def;
    const check = checkNodeDefinition(any);
    const problems = check.ok ? [] : [...check.problems];
    if (typeof any.type === 'string' && this.nodes.has(any.type)) {
      problems.unshift(`type ${any.type} is already registered (node type ids must be unique)`);
    }
    if (problems.length > 0 || !check.ok) {
      throw new NodeDefinitionError(String(any.type), problems);
    }
    this.nodes.set(any.type, check.node);
    return this;
  }

  registerAll(defs: readonly AnyNodeDefinition[]): this {
    for (const def of defs) this.register(def);
    return this;
  }

  get(type: string): AnyNodeDefinition | undefined {
    return this.nodes.get(type)?.def;
  }

  /** The definition with its normalised socket specs (optional/list defaults applied). */
  entry(type: string): RegisteredNode | undefined {
    return this.nodes.get(type);
  }

  has(type: string): boolean {
    return this.nodes.has(type);
  }

  list(): AnyNodeDefinition[] {
    return [...this.nodes.values()].map((n) => n.def);
  }

  /** What `GET /api/nodes` serves: socket types with colours and every node's description. */
  describe(): RegistryDescription {
    const sockets = Object.fromEntries(
      Object.entries(socketTypes).map(([id, t]) => [id, { color: t.color, description: t.description }]),
    ) as Record<SocketTypeId, SocketTypeDescription>;
    return { sockets, nodes: [...this.nodes.values()].map((n) => n.description) };
  }
}
