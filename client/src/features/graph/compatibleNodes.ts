import { canConnect } from '../../../../nodes/sdk/sockets.ts';
import type { NodeDef, NodeDefs } from '../../api/nodeDefs.ts';

/** The end of a wire dropped in empty space: the socket type and which side it came from. */
export type DanglingWire = { nodeId: string; handle: string; type: string; side: 'output' | 'input' };

export type Candidate = { def: NodeDef; socket: string };

/**
 * Node types that can take the dangling wire, each with the first socket it would connect to. A wire from
 * an output needs a compatible input; a wire pulled out of an input needs a compatible output.
 */
export function compatibleNodes(defs: NodeDefs, wire: DanglingWire): Candidate[] {
  const out: Candidate[] = [];
  for (const def of Object.values(defs.byType)) {
    const entries =
      wire.side === 'output'
        ? Object.entries(def.inputs).filter(([, spec]) => canConnect({ type: wire.type }, spec).ok)
        : Object.entries(def.outputs).filter(([, spec]) => canConnect(spec, { type: wire.type }).ok);
    // Prefer an exactly matching socket over an ANY one.
    entries.sort(([, a], [, b]) => Number(b.type === wire.type) - Number(a.type === wire.type));
    const first = entries[0];
    if (first) out.push({ def, socket: first[0] });
  }
  return out;
}

/** Case-insensitive search over title, type id, category and description; title matches rank first. */
export function searchNodes<T extends { def: NodeDef }>(items: readonly T[], query: string): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...items].sort((a, b) => a.def.title.localeCompare(b.def.title));
  const words = q.split(/\s+/);
  const scored: { item: T; score: number }[] = [];
  for (const item of items) {
    const title = item.def.title.toLowerCase();
    const hay = `${title} ${item.def.type.toLowerCase()} ${item.def.category.toLowerCase()} ${item.def.description.toLowerCase()}`;
    if (!words.every((w) => hay.includes(w))) continue;
    const score = title.startsWith(q) ? 0 : title.includes(q) ? 1 : 2;
    scored.push({ item, score });
  }
  scored.sort((a, b) => a.score - b.score || a.item.def.title.localeCompare(b.item.def.title));
  return scored.map((s) => s.item);
}
