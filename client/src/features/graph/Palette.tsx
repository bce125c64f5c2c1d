import { useMemo, useState } from 'react';
import type { NodeDef } from '../../api/nodeDefs.ts';
import { searchNodes } from './compatibleNodes.ts';
import { useNodeDefs } from './nodeDefsStore.ts';

export const PALETTE_MIME = 'application/x-loraflow-node';

/** Node types grouped by category; drag one onto the canvas or click to add it at the centre. */
export function Palette({ onAdd }: { onAdd(type: string): void }) {
  const defs = useNodeDefs((s) => s.defs);
  const status = useNodeDefs((s) => s.status);
  const error = useNodeDefs((s) => s.error);
  const [filter, setFilter] = useState('');
  const byCategory = useMemo(() => {
    const items = searchNodes(
      Object.values(defs.byType).map((def) => ({ def })),
      filter,
    );
    const groups = new Map<string, NodeDef[]>();
    for (const { def } of items) {
      const list = groups.get(def.category);
      if (list) list.push(def);
      else groups.set(def.category, [def]);
    }
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [defs, filter]);
  return (
    <nav className="palette" aria-label="Node palette">
      <input
        type="search"
        aria-label="Filter palette"
        placeholder="Filter nodes…"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
      />
      {status === 'loading' && <div className="muted">Loading nodes…</div>}
      {status === 'error' && <div className="error-text">Cannot load nodes: {error}</div>}
      {byCategory.map(([category, list]) => (
        <details key={category} open>
          <summary>{category}</summary>
          <ul>
            {list.map((def) => (
              <li key={def.type}>
                <button
                  type="button"
                  draggable
                  title={def.description}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(PALETTE_MIME, def.type);
                    e.dataTransfer.effectAllowed = 'copy';
                  }}
                  onClick={() => onAdd(def.type)}
                >
                  {def.title}
                </button>
              </li>
            ))}
          </ul>
        </details>
      ))}
    </nav>
  );
}
