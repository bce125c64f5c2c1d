import type { NodeRegistry, RegisteredNode } from '../../nodes/sdk/registry.ts';
import { relateVersions } from '../../nodes/sdk/semver.ts';
import { canConnect } from '../../nodes/sdk/sockets.ts';
import { findCycles } from './cycles.ts';
import type { NodeError, ValidationResult } from './nodeErrors.ts';
import type { WorkflowDocument, WorkflowNode } from './schema.ts';
import { issuesToFields } from './zodIssues.ts';

export type SourceRef = { node: string; output: string };

/** A node with its definition, parsed params and resolved links, as the scheduler and executor use it. */
export type CompiledNode = {
  id: string;
  node: WorkflowNode;
  /** Undefined for a placeholder (unknown type). */
  entry: RegisteredNode | undefined;
  /** Params parsed through the node's zod schema (defaults applied); undefined if they did not parse. */
  params: Record<string, unknown> | undefined;
  /** Input name → upstream outputs, in link order. */
  inputs: Record<string, SourceRef[]>;
  /** For a bypassed node: output name → the input whose value it passes through. */
  bypass: Record<string, string> | undefined;
  upstream: Set<string>;
  downstream: Set<string>;
};

export type WorkflowAnalysis = {
  errors: NodeError[];
  nodes: Map<string, CompiledNode>;
  /** The output nodes the run aims at (requested ones, or every non-bypassed output node). */
  targets: string[];
  /** The targets and all their ancestors: the nodes a run needs. */
  scope: Set<string>;
};

export type ValidateOptions = {
  /**
   * Output node ids to run towards. When given, only those nodes and their ancestors are validated, so a
   * broken unrelated branch does not block running a chosen output. Default: every output node, and the
   * whole document is validated.
   */
  outputs?: readonly string[];
};

/** Every problem in the workflow at once, per node and per field. */
export function validateWorkflow(
  doc: WorkflowDocument,
  registry: NodeRegistry,
  options: ValidateOptions = {},
): ValidationResult {
  const { errors } = analyzeWorkflow(doc, registry, options);
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}

export function analyzeWorkflow(
  doc: WorkflowDocument,
  registry: NodeRegistry,
  options: ValidateOptions = {},
): WorkflowAnalysis {
  const errors: NodeError[] = [];
  const nodes = new Map<string, CompiledNode>();
  const err = (node: CompiledNode | undefined, kind: NodeError['kind'], message: string, field?: string) => {
    const e: NodeError = { nodeId: node ? node.id : null, kind, message };
    if (node) e.nodeType = node.node.type;
    if (field !== undefined) e.field = field;
    errors.push(e);
  };

  for (const node of doc.nodes) {
    nodes.set(node.id, {
      id: node.id,
      node,
      entry: registry.entry(node.type),
      params: undefined,
      inputs: {},
      bypass: undefined,
      upstream: new Set(),
      downstream: new Set(),
    });
  }

  // Links: endpoints, sockets, types, fan-in. `linked` remembers inputs with a link, even a bad one, so
  // a refused link is not also reported as a missing input.
  const linked = new Set<string>();
  doc.links.forEach((link, i) => {
    linked.add(`${link.to.node}\u0000${link.to.input}`);
    const from = nodes.get(link.from.node);
    const to = nodes.get(link.to.node);
    const field = `inputs.${link.to.input}`;
    if (!to) {
      err(
        from,
        'unknown-node',
        `link ${link.id} goes to node ${link.to.node}, which does not exist`,
        `links[${i}]`,
      );
      return;
    }
    if (!from) {
      err(
        to,
        'unknown-node',
        `connected to node ${link.from.node}, which does not exist: remove the link`,
        field,
      );
      return;
    }
    const toSpec = to.entry?.inputs[link.to.input];
    const fromSpec = from.entry?.outputs[link.from.output];
    if (to.entry && !toSpec) {
      err(
        to,
        'unknown-input',
        `${to.node.type} has no input ${link.to.input} (inputs: ${names(to.entry.inputs)})`,
        field,
      );
      return;
    }
    if (from.entry && !fromSpec) {
      err(
        to,
        'unknown-output',
        `node ${from.id} (${from.node.type}) has no output ${link.from.output} (outputs: ${names(from.entry.outputs)})`,
        field,
      );
      return;
    }
    if (fromSpec && toSpec) {
      const c = canConnect(fromSpec, toSpec);
      if (!c.ok) {
        err(to, 'type-mismatch', `cannot take ${link.from.output} of node ${from.id}: ${c.reason}`, field);
        return;
      }
    }
    const refs = to.inputs[link.to.input];
    if (refs) {
      if (toSpec && !toSpec.list) {
        err(
          to,
          'too-many-links',
          `input ${link.to.input} takes one link but has several: remove all but one`,
          field,
        );
        return;
      }
      refs.push({ node: from.id, output: link.from.output });
    } else {
      to.inputs[link.to.input] = [{ node: from.id, output: link.from.output }];
    }
    to.upstream.add(from.id);
    from.downstream.add(to.id);
  });

  // Per node: type, version, params, required inputs, bypass.
  for (const c of nodes.values()) {
    const { node, entry } = c;
    if (!entry) {
      err(
        c,
        'unknown-node-type',
        `unknown node type ${node.type}: install the node pack that provides it or remove the node`,
      );
      continue;
    }
    const relation = relateVersions(node.version, entry.def.version);
    if (relation !== 'compatible') {
      const message =
        relation === 'newer-major'
          ? `saved with version ${node.version}, newer than this loraflow's ${entry.def.version}: update loraflow`
          : relation === 'invalid'
            ? `version ${JSON.stringify(node.version)} is not semver (e.g. ${entry.def.version}): fix it or replace the node`
            : `saved with version ${node.version}, incompatible with ${entry.def.version}: replace the node with a new one`;
      err(c, 'node-version', message, 'version');
    }
    if (node.bypass) {
      checkBypass(c, nodes, err);
      continue;
    }
    const shape = entry.def.params.shape;
    let unknownParam = false;
    for (const key of Object.keys(node.params)) {
      if (!(key in shape)) {
        unknownParam = true;
        const known = Object.keys(shape);
        err(
          c,
          'bad-param',
          `unknown param (${known.length > 0 ? `params: ${known.join(', ')}` : 'this node has no params'})`,
          `params.${key}`,
        );
      }
    }
    const parsed = entry.def.params.safeParse(node.params);
    if (parsed.success) {
      if (!unknownParam) c.params = parsed.data as Record<string, unknown>;
    } else {
      for (const f of issuesToFields(parsed.error, node.params, ['params']))
        err(c, 'bad-param', f.message, f.field);
    }
    for (const [name, spec] of Object.entries(entry.inputs)) {
      if (!spec.optional && !linked.has(`${c.id}\u0000${name}`)) {
        err(
          c,
          'missing-input',
          `required input is not connected: connect ${article(spec.type)} output`,
          `inputs.${name}`,
        );
      }
    }
  }

  // Targets and scope.
  const targets: string[] = [];
  if (options.outputs) {
    for (const id of options.outputs) {
      const c = nodes.get(id);
      if (!c) err(undefined, 'not-an-output', `requested output ${id} is not a node of this workflow`);
      else if (c.entry && !c.entry.def.output)
        err(c, 'not-an-output', `${c.node.type} is not an output node`);
      else if (c.node.bypass) err(c, 'not-an-output', 'this output node is bypassed');
      else targets.push(id);
    }
  } else {
    for (const c of nodes.values()) if (c.entry?.def.output && !c.node.bypass) targets.push(c.id);
    if (targets.length === 0) {
      err(
        undefined,
        'no-output',
        'the workflow has no output node: add a saver or preview node to run towards',
      );
    }
  }
  const scope = options.outputs ? ancestorsOf(targets, nodes) : new Set(nodes.keys());

  for (const cycle of findCycles(scope, nodes)) {
    const path = [...cycle, cycle[0]].join(' → ');
    for (const id of cycle) err(nodes.get(id), 'cycle', `part of a cycle: ${path}; remove one of its links`);
  }

  const scoped = options.outputs
    ? errors.filter((e) => e.nodeId === null || e.kind === 'not-an-output' || scope.has(e.nodeId))
    : errors;
  return { errors: scoped, nodes, targets, scope };
}

function checkBypass(
  c: CompiledNode,
  nodes: Map<string, CompiledNode>,
  err: (node: CompiledNode, kind: NodeError['kind'], message: string, field?: string) => void,
): void {
  const entry = c.entry!;
  const bypass: Record<string, string> = {};
  const used = new Set<string>();
  for (const child of c.downstream) {
    for (const refs of Object.values(nodes.get(child)!.inputs)) {
      for (const r of refs) if (r.node === c.id) used.add(r.output);
    }
  }
  for (const [out, spec] of Object.entries(entry.outputs)) {
    const candidates = Object.entries(entry.inputs).filter(([name]) => c.inputs[name]);
    const match =
      candidates.find(([, s]) => s.type === spec.type) ?? (spec.type === 'ANY' ? candidates[0] : undefined);
    if (match) bypass[out] = match[0];
    else if (used.has(out)) {
      err(
        c,
        'bypass',
        `cannot be bypassed: output ${out} (${spec.type}) is used but no connected input of type ${spec.type} can pass through`,
        `outputs.${out}`,
      );
    }
  }
  c.bypass = bypass;
}

/** The given nodes and every node they depend on. */
export function ancestorsOf(targets: readonly string[], nodes: Map<string, CompiledNode>): Set<string> {
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const c = nodes.get(id);
    if (c) for (const up of c.upstream) if (!seen.has(up)) stack.push(up);
  }
  return seen;
}

function names(specs: Record<string, unknown>): string {
  const keys = Object.keys(specs);
  return keys.length > 0 ? keys.join(', ') : 'none';
}

function article(type: string): string {
  return /^[AEIOU]/.test(type) ? `an ${type}` : `a ${type}`;
}
