import { useEffect, useMemo, useRef, useState } from 'react';
import { useUi } from '../../app/uiStore.ts';
import { type Candidate, compatibleNodes, searchNodes } from './compatibleNodes.ts';
import { graphStore } from './graphInstance.ts';
import { useNodeDefs } from './nodeDefsStore.ts';

/**
 * The node search box: opened by double-clicking the canvas, or by dropping a wire in empty space (then only
 * compatible nodes are listed, and the new node is wired to the dangling end).
 */
export function NodeSearch() {
  const req = useUi((s) => s.search);
  const close = useUi((s) => s.closeSearch);
  const defs = useNodeDefs((s) => s.defs);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const inputRef = useRef<HTMLInputElement>(null);
  const all = useMemo<Candidate[]>(() => {
    if (!req) return [];
    if (req.wire) return compatibleNodes(defs, req.wire);
    return Object.values(defs.byType).map((def) => ({ def, socket: '' }));
  }, [defs, req]);
  const results = useMemo(() => searchNodes(all, query).slice(0, 50), [all, query]);
  useEffect(() => {
    if (req) {
      setQuery('');
      setActive(0);
      inputRef.current?.focus();
    }
  }, [req]);
  if (!req) return null;

  const pick = (c: Candidate | undefined) => {
    if (!c) return;
    const g = graphStore.getState();
    const id = g.addNode(c.def.type, req.flow);
    if (id && req.wire) {
      const w = req.wire;
      const verdict =
        w.side === 'output'
          ? g.connect({ source: w.nodeId, sourceHandle: w.handle, target: id, targetHandle: c.socket })
          : g.connect({ source: id, sourceHandle: c.socket, target: w.nodeId, targetHandle: w.handle });
      if (!verdict.ok) useUi.getState().toast(verdict.reason);
    }
    if (id) g.selectOnly([id]);
    close();
  };

  const left = Math.min(req.screen.x, window.innerWidth - 340);
  const top = Math.min(req.screen.y, window.innerHeight - 380);
  return (
    <div className="node-search" style={{ left, top }} role="dialog" aria-label="Add node">
      <input
        ref={inputRef}
        type="search"
        aria-label="Search nodes"
        placeholder={req.wire ? `Nodes accepting ${req.wire.type}…` : 'Search nodes…'}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') close();
          else if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(results.length - 1, a + 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(0, a - 1));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            pick(results[active]);
          }
        }}
        onBlur={(e) => {
          if (!e.currentTarget.parentElement?.contains(e.relatedTarget as Node | null)) close();
        }}
      />
      <ul aria-label="Matching nodes">
        {results.map((c, i) => (
          <li key={c.def.type}>
            <button
              type="button"
              tabIndex={-1}
              className={i === active ? 'active' : ''}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => pick(c)}
              onMouseEnter={() => setActive(i)}
            >
              <span className="title">{c.def.title}</span>
              <span className="cat">{c.def.category}</span>
              {c.socket && <span className="sock">→ {c.socket}</span>}
            </button>
          </li>
        ))}
        {results.length === 0 && <li className="muted">No matching node</li>}
      </ul>
    </div>
  );
}
