import { graphStore } from '../graph/graphInstance.ts';
import { isDirty } from '../graph/graphStore.ts';
import { useExecution } from '../run/executionStore.ts';
import { restoreRun } from '../run/runActions.ts';
import { fromDocument, toDocument } from './document.ts';

const KEY = 'loraflow.current';
const DELAY_MS = 400;

type Saved = { document: unknown; savedName: string | null; dirty: boolean; runId?: string | null };

/**
 * Keeps the open workflow in localStorage so that a reload (or a crash of the tab) brings it back, together
 * with the run's live state that the server's snapshot restores.
 */
export function restoreAutosave(storage: Storage = localStorage): boolean {
  let saved: Saved;
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return false;
    saved = JSON.parse(raw) as Saved;
  } catch {
    return false;
  }
  const g = fromDocument(saved.document);
  if (!g.ok) return false;
  graphStore.getState().load(g.nodes, g.edges, g.meta, saved.savedName);
  if (saved.dirty && saved.savedName !== null) {
    // Still unsaved: keep the mark by moving the saved revision away from the current one.
    graphStore.setState({ savedRevision: -1 });
  }
  if (saved.runId) void restoreRun(saved.runId);
  return true;
}

export function startAutosave(storage: Storage = localStorage): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let last = {
    nodes: graphStore.getState().nodes,
    edges: graphStore.getState().edges,
    meta: graphStore.getState().meta,
  };
  const write = () => {
    timer = null;
    const s = graphStore.getState();
    const saved: Saved = {
      document: toDocument(s),
      savedName: s.savedName,
      dirty: isDirty(s),
      runId: useExecution.getState().runId,
    };
    try {
      storage.setItem(KEY, JSON.stringify(saved));
    } catch {
      // Storage full or disabled: autosave is a convenience, the server copy is the real one.
    }
  };
  const unsubscribe = graphStore.subscribe((s) => {
    if (s.nodes === last.nodes && s.edges === last.edges && s.meta === last.meta && timer !== null) return;
    last = { nodes: s.nodes, edges: s.edges, meta: s.meta };
    if (timer) clearTimeout(timer);
    timer = setTimeout(write, DELAY_MS);
  });
  const unsubscribeRuns = useExecution.subscribe((s, prev) => {
    if (s.runId === prev.runId) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(write, DELAY_MS);
  });
  const flush = () => {
    if (timer) {
      clearTimeout(timer);
      write();
    }
  };
  window.addEventListener('pagehide', flush);
  return () => {
    unsubscribe();
    unsubscribeRuns();
    window.removeEventListener('pagehide', flush);
    flush();
  };
}
