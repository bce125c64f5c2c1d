import { useReactFlow } from '@xyflow/react';
import { useEffect, useRef } from 'react';
import type { ClipboardData } from '../features/graph/clipboard.ts';
import { graphStore } from '../features/graph/graphInstance.ts';
import { parseClipboard } from '../features/graph/parseClipboard.ts';
import { isWorkflowNode } from '../features/graph/types.ts';
import { runSelectedOutputs, runWorkflow } from '../features/run/runActions.ts';
import { saveToServer } from '../features/workflows/workflowActions.ts';
import { matchShortcut } from './shortcuts.ts';
import { useUi } from './uiStore.ts';

function isField(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  return t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName);
}

/** Global keyboard shortcuts (see shortcuts.ts for the list). */
export function useShortcuts(): void {
  const { screenToFlowPosition } = useReactFlow();
  const pointer = useRef({ x: window.innerWidth / 2, y: window.innerHeight / 2 });
  const clipboard = useRef<ClipboardData | null>(null);
  useEffect(() => {
    const onMove = (e: PointerEvent) => {
      pointer.current = { x: e.clientX, y: e.clientY };
    };
    const onKey = (e: KeyboardEvent) => {
      const id = matchShortcut(e, isField(e.target));
      if (!id) return;
      const g = graphStore.getState();
      const ui = useUi.getState();
      switch (id) {
        case 'run':
          void runWorkflow();
          break;
        case 'runSelected':
          void runSelectedOutputs();
          break;
        case 'save':
          if (g.savedName) void saveToServer(g.savedName);
          else ui.setDialog('save');
          break;
        case 'open':
          ui.setDialog('open');
          break;
        case 'undo':
          g.undo();
          break;
        case 'redo':
          g.redo();
          break;
        case 'delete':
          g.deleteSelected();
          break;
        case 'copy': {
          const data = g.copy();
          if (!data) return;
          clipboard.current = data;
          void navigator.clipboard?.writeText(JSON.stringify(data)).catch(() => undefined);
          break;
        }
        case 'paste':
          // Left to the browser's paste event (below), which can read the system clipboard.
          return;
        case 'bypass':
          g.toggleBypass();
          break;
        case 'selectAll':
          g.selectOnly(g.nodes.filter(isWorkflowNode).map((n) => n.id));
          break;
        case 'group': {
          const sel = g.nodes.filter((n) => n.selected && isWorkflowNode(n));
          if (sel.length === 0) return;
          const xs = sel.map((n) => n.position.x);
          const ys = sel.map((n) => n.position.y);
          const x2 = Math.max(...sel.map((n) => n.position.x + (n.measured?.width ?? 240)));
          const y2 = Math.max(...sel.map((n) => n.position.y + (n.measured?.height ?? 120)));
          const x = Math.min(...xs) - 20;
          const y = Math.min(...ys) - 50;
          g.addGroup({ x, y, width: x2 - x + 20, height: y2 - y + 20 });
          break;
        }
        case 'search': {
          const at = pointer.current;
          ui.openSearch({ screen: at, flow: screenToFlowPosition(at) });
          break;
        }
        case 'help':
          ui.togglePanel('help');
          break;
        case 'escape':
          ui.closeSearch();
          ui.setDialog('none');
          ui.openDashboard(null);
          ui.openDataset(null);
          return;
        default: {
          const never: never = id;
          return never;
        }
      }
      e.preventDefault();
    };
    const onPaste = (e: ClipboardEvent) => {
      if (isField(e.target)) return;
      const data = parseClipboard(e.clipboardData?.getData('text/plain') ?? '') ?? clipboard.current;
      if (!data) return;
      e.preventDefault();
      graphStore.getState().paste(data, screenToFlowPosition(pointer.current));
    };
    window.addEventListener('pointermove', onMove, { passive: true });
    window.addEventListener('keydown', onKey);
    window.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('pointermove', onMove);
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('paste', onPaste);
    };
  }, [screenToFlowPosition]);
}
