import type { z } from 'zod';
import type { NodeContext } from './context.ts';
import type { InputSocketSpec, OutputSocketSpec, SocketTypeId } from './sockets.ts';
import type { socketValueSchemas } from './values.ts';

type ValueOf<T extends SocketTypeId> = z.infer<(typeof socketValueSchemas)[T]>;
/** What a node may return for a socket: defaults (e.g. an image's caption) may be left out; the executor fills them. */
type ReturnedValueOf<T extends SocketTypeId> = z.input<(typeof socketValueSchemas)[T]>;

type InputValue<S extends InputSocketSpec> = S['list'] extends true
  ? ValueOf<S['type']>[]
  : S['optional'] extends true
    ? ValueOf<S['type']> | undefined
    : ValueOf<S['type']>;

export type InputValues<I extends Record<string, InputSocketSpec>> = { [K in keyof I]: InputValue<I[K]> };
export type OutputValues<O extends Record<string, OutputSocketSpec>> = {
  [K in keyof O]: ReturnedValueOf<O[K]['type']>;
};

/** What a node shows in the editor after running, besides its outputs (thumbnails, stats, text). */
export type NodeDisplay = Record<string, unknown>;

export type RunResult<O extends Record<string, OutputSocketSpec>> = {
  outputs: OutputValues<O>;
  /** Shown on the node and stored with the run (e.g. image refs for previews, statistics). */
  display?: NodeDisplay;
};

export type CachePolicy = 'content' | 'never';

export interface NodeDefinition<
  I extends Record<string, InputSocketSpec> = Record<string, InputSocketSpec>,
  O extends Record<string, OutputSocketSpec> = Record<string, OutputSocketSpec>,
  P extends z.ZodObject = z.ZodObject,
> {
  /** Namespaced id, e.g. `loraflow/image/crop-resize`. Never changes once published. */
  type: string;
  /** Semver; bump major when params change incompatibly and provide `migrate`. */
  version: string;
  title: string;
  category: string;
  description: string;
  inputs: I;
  outputs: O;
  params: P;
  /** Runs on the native engine: the executor runs heavy nodes one at a time. */
  heavy?: boolean;
  /** `content` (default) caches by content hash; `never` for side-effecting nodes such as savers. */
  cache?: CachePolicy;
  /** Output nodes are what a run executes towards (savers, previews). */
  output?: boolean;
  /**
   * Upgrades params saved by an older version of this node. Return the new params, or throw an Error whose
   * message tells the user what to change.
   */
  migrate?: (fromVersion: string, params: Record<string, unknown>) => Record<string, unknown>;
  run(ctx: NodeContext, inputs: InputValues<I>, params: z.infer<P>): Promise<RunResult<O>>;
}

export type AnyNodeDefinition = NodeDefinition<
  Record<string, InputSocketSpec>,
  Record<string, OutputSocketSpec>,
  z.ZodObject
>;

/** Declares a node type. Validation of the definition happens at registration (see registry.ts). */
export function defineNode<
  const I extends Record<string, InputSocketSpec>,
  const O extends Record<string, OutputSocketSpec>,
  P extends z.ZodObject,
>(def: NodeDefinition<I, O, P>): NodeDefinition<I, O, P> {
  return def;
}
