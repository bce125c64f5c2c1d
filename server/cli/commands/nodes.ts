import { EXIT_OK } from '../cliError.ts';
import { parseCommandArgs } from '../parse.ts';
import { loadRegistry } from '../registry.ts';

/** `loraflow nodes [--json]`: the node catalogue, grouped by category. */
export async function nodesCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('nodes', argv, { json: { type: 'boolean' } }, false);
  const description = (await loadRegistry()).describe();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(description, null, 2)}\n`);
    return EXIT_OK;
  }
  const byCategory = new Map<string, typeof description.nodes>();
  for (const n of description.nodes) {
    const list = byCategory.get(n.category) ?? [];
    list.push(n);
    byCategory.set(n.category, list);
  }
  if (description.nodes.length === 0) process.stdout.write('no node types are registered\n');
  for (const [category, nodes] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
    process.stdout.write(`${category}\n`);
    for (const n of nodes.sort((a, b) => a.type.localeCompare(b.type))) {
      const flags = [n.output ? 'output' : '', n.heavy ? 'heavy' : '', n.cache === 'never' ? 'uncached' : '']
        .filter(Boolean)
        .join(', ');
      const ins = Object.entries(n.inputs).map(
        ([k, s]) => `${k}:${s.type}${s.list ? '[]' : ''}${s.optional ? '?' : ''}`,
      );
      const outs = Object.entries(n.outputs).map(([k, s]) => `${k}:${s.type}`);
      process.stdout.write(
        `  ${n.type}@${n.version}  ${n.title}${flags ? ` [${flags}]` : ''}\n    (${ins.join(', ')}) -> (${outs.join(', ')})\n`,
      );
    }
  }
  return EXIT_OK;
}
