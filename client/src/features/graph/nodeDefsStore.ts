import { create } from 'zustand';
import { getJson } from '../../api/http.ts';
import { indexNodeDefs, type NodeDefs, NodesResponse } from '../../api/nodeDefs.ts';

type DefsState = {
  defs: NodeDefs;
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | null;
  load(): Promise<void>;
};

/** Node definitions from `GET /api/nodes`: loaded once; the only source of what a node type looks like. */
export const useNodeDefs = create<DefsState>()((set) => ({
  defs: { byType: {}, sockets: {} },
  status: 'idle',
  error: null,
  async load() {
    set({ status: 'loading', error: null });
    try {
      const res = NodesResponse.parse(await getJson('/api/nodes'));
      set({ defs: indexNodeDefs(res), status: 'ready' });
    } catch (err) {
      set({ status: 'error', error: err instanceof Error ? err.message : String(err) });
    }
  },
}));
