import type { WorkflowDocument, WorkflowNode } from '../../server/workflow/schema.ts';

/**
 * Builds workflow documents in tests:
 * `workflow().node('a', 'test/basic/number', { value: 2 }).node('s', 'test/basic/sink').link('a.value', 's.value').build()`
 */
export class WorkflowBuilder {
  private readonly nodes: WorkflowNode[] = [];
  private readonly links: WorkflowDocument['links'] = [];

  node(
    id: string,
    type: string,
    params: Record<string, unknown> = {},
    extra: Partial<Omit<WorkflowNode, 'id' | 'type' | 'params'>> = {},
  ): this {
    this.nodes.push({
      id,
      type,
      version: '1.0.0',
      params,
      position: { x: this.nodes.length * 200, y: 0 },
      ...extra,
    });
    return this;
  }

  /** `from` is `node.output`, `to` is `node.input`. */
  link(from: string, to: string): this {
    const [fromNode, output] = split(from);
    const [toNode, input] = split(to);
    this.links.push({
      id: `l${this.links.length + 1}`,
      from: { node: fromNode, output },
      to: { node: toNode, input },
    });
    return this;
  }

  build(name = 'test workflow'): WorkflowDocument {
    return {
      format: 'loraflow.workflow',
      version: 1,
      nodes: structuredClone(this.nodes),
      links: structuredClone(this.links),
      meta: { name, description: '', created_with: 'tests' },
    };
  }
}

export function workflow(): WorkflowBuilder {
  return new WorkflowBuilder();
}

function split(ref: string): [string, string] {
  const dot = ref.lastIndexOf('.');
  if (dot <= 0) throw new Error(`expected node.socket, got ${ref}`);
  return [ref.slice(0, dot), ref.slice(dot + 1)];
}
