import type { XYPosition } from '@xyflow/react';
import { create } from 'zustand';
import type { DanglingWire } from '../features/graph/compatibleNodes.ts';

export type SearchRequest = {
  /** Where to show the box, in screen pixels. */
  screen: XYPosition;
  /** Where to put the new node, in flow coordinates. */
  flow: XYPosition;
  /** Set when the search was opened by dropping a wire in empty space. */
  wire?: DanglingWire;
};

export type Toast = { id: number; message: string; kind: 'error' | 'info'; at?: XYPosition };

export type Panel = 'none' | 'queue' | 'help';

type UiState = {
  search: SearchRequest | null;
  toasts: Toast[];
  panel: Panel;
  dialog: 'none' | 'open' | 'save';
  dashboardNode: string | null;
  /** Bumped to ask the canvas to fit the view (after a workflow is loaded). */
  fitRequest: number;
  requestFit(): void;
  datasetNode: string | null;
  openSearch(req: SearchRequest): void;
  closeSearch(): void;
  toast(message: string, kind?: Toast['kind'], at?: XYPosition): void;
  dismiss(id: number): void;
  togglePanel(panel: Panel): void;
  setDialog(d: UiState['dialog']): void;
  openDashboard(nodeId: string | null): void;
  openDataset(nodeId: string | null): void;
};

let toastId = 0;

/** Transient UI state: overlays, dialogs and toasts. Never saved, never part of undo. */
export const useUi = create<UiState>()((set, get) => ({
  search: null,
  toasts: [],
  panel: 'none',
  dialog: 'none',
  dashboardNode: null,
  fitRequest: 0,
  requestFit: () => set({ fitRequest: get().fitRequest + 1 }),
  datasetNode: null,
  openSearch: (search) => set({ search }),
  closeSearch: () => set({ search: null }),
  toast(message, kind = 'error', at) {
    toastId += 1;
    const t: Toast = { id: toastId, message, kind };
    if (at) t.at = at;
    set({ toasts: [...get().toasts.slice(-3), t] });
    const id = toastId;
    setTimeout(() => get().dismiss(id), kind === 'error' ? 4000 : 2500);
  },
  dismiss: (id) => set({ toasts: get().toasts.filter((t) => t.id !== id) }),
  togglePanel: (panel) => set({ panel: get().panel === panel ? 'none' : panel }),
  setDialog: (dialog) => set({ dialog }),
  openDashboard: (dashboardNode) => set({ dashboardNode }),
  openDataset: (datasetNode) => set({ datasetNode }),
}));
