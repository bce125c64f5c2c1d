import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { useCallback, useEffect } from 'react';
import { HelpPanel } from './app/HelpPanel.tsx';
import { Toasts } from './app/Toasts.tsx';
import { Toolbar } from './app/Toolbar.tsx';
import { useUi } from './app/uiStore.ts';
import { useShortcuts } from './app/useShortcuts.ts';
import { TrainingDashboard } from './features/dashboard/TrainingDashboard.tsx';
import { DatasetView } from './features/dataset/DatasetView.tsx';
import { Canvas } from './features/graph/Canvas.tsx';
import { graphStore } from './features/graph/graphInstance.ts';
import { isDirty } from './features/graph/graphStore.ts';
import { NodeSearch } from './features/graph/NodeSearch.tsx';
import { useNodeDefs } from './features/graph/nodeDefsStore.ts';
import { Palette } from './features/graph/Palette.tsx';
import { connectEvents } from './features/run/eventsClient.ts';
import { QueuePanel } from './features/run/QueuePanel.tsx';
import { restoreAutosave, startAutosave } from './features/workflows/autosave.ts';
import { OpenDialog } from './features/workflows/OpenDialog.tsx';
import { SaveDialog } from './features/workflows/SaveDialog.tsx';
import { importFile, openStartWorkflow } from './features/workflows/workflowActions.ts';

function Editor() {
  useShortcuts();
  const panel = useUi((s) => s.panel);
  const dialog = useUi((s) => s.dialog);
  const dashboardNode = useUi((s) => s.dashboardNode);
  const datasetNode = useUi((s) => s.datasetNode);
  const { screenToFlowPosition } = useReactFlow();
  const addAtCentre = useCallback(
    (type: string) => {
      const el = document.querySelector('.canvas');
      const r = el?.getBoundingClientRect();
      const at = r ? { x: r.left + r.width / 2 - 100, y: r.top + r.height / 2 - 60 } : { x: 400, y: 300 };
      const id = graphStore.getState().addNode(type, screenToFlowPosition(at));
      if (id) graphStore.getState().selectOnly([id]);
    },
    [screenToFlowPosition],
  );
  const onDropFiles = useCallback((files: File[]) => {
    const f = files[0];
    if (f) void importFile(f);
  }, []);
  return (
    <div className="app">
      <Toolbar />
      <main className="workspace">
        <Palette onAdd={addAtCentre} />
        <Canvas onDropFiles={onDropFiles} />
        {panel === 'queue' && <QueuePanel onClose={() => useUi.getState().togglePanel('queue')} />}
        {panel === 'help' && <HelpPanel onClose={() => useUi.getState().togglePanel('help')} />}
      </main>
      <NodeSearch />
      {dialog === 'open' && <OpenDialog />}
      {dialog === 'save' && <SaveDialog />}
      {dashboardNode && <TrainingDashboard nodeId={dashboardNode} />}
      {datasetNode && <DatasetView nodeId={datasetNode} />}
      <Toasts />
    </div>
  );
}

export function App() {
  useEffect(() => {
    void useNodeDefs.getState().load();
    if (restoreAutosave()) useUi.getState().requestFit();
    else void openStartWorkflow();
    const stopAutosave = startAutosave();
    const stop = connectEvents();
    const beforeUnload = (e: BeforeUnloadEvent) => {
      if (isDirty(graphStore.getState())) e.preventDefault();
    };
    window.addEventListener('beforeunload', beforeUnload);
    return () => {
      stop();
      stopAutosave();
      window.removeEventListener('beforeunload', beforeUnload);
    };
  }, []);
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}
