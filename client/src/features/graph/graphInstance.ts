import { useStore } from 'zustand';
import { createGraphStore, type GraphActions, type GraphState } from './graphStore.ts';
import { useNodeDefs } from './nodeDefsStore.ts';

/** The editor's one graph store, reading node definitions from the defs store. */
export const graphStore = createGraphStore(() => useNodeDefs.getState().defs);

export function useGraph<T>(selector: (s: GraphState & GraphActions) => T): T {
  return useStore(graphStore, selector);
}
