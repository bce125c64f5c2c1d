import { useRef } from 'react';
import { graphStore, useGraph } from '../features/graph/graphInstance.ts';
import { isDirty } from '../features/graph/graphStore.ts';
import { useExecution } from '../features/run/executionStore.ts';
import { cancelCurrentRun, runSelectedOutputs, runWorkflow } from '../features/run/runActions.ts';
import {
  downloadJson,
  importFile,
  newWorkflow,
  saveToServer,
} from '../features/workflows/workflowActions.ts';
import { useUi } from './uiStore.ts';

export function Toolbar() {
  const name = useGraph((s) => s.meta.name);
  const savedName = useGraph((s) => s.savedName);
  const dirty = useGraph(isDirty);
  const canUndo = useGraph((s) => s.past.length > 0);
  const canRedo = useGraph((s) => s.future.length > 0);
  const runStatus = useExecution((s) => s.runStatus);
  const connected = useExecution((s) => s.connected);
  const generalProblems = useExecution((s) => s.generalProblems);
  const ui = useUi();
  const fileRef = useRef<HTMLInputElement>(null);
  const active = runStatus === 'running' || runStatus === 'queued';
  return (
    <header className="toolbar">
      <span className="brand">loraflow</span>
      <span className="wf-name" title={savedName ? `saved as ${savedName}` : 'not saved yet'}>
        <span data-testid="workflow-name">{name}</span>
        {dirty && (
          <span className="dirty" role="img" aria-label="unsaved changes" title="Unsaved changes">
            {' '}
            ●
          </span>
        )}
      </span>
      <nav className="actions" aria-label="Workflow">
        <button type="button" onClick={newWorkflow}>
          New
        </button>
        <button type="button" onClick={() => ui.setDialog('open')} title="Ctrl+O">
          Open
        </button>
        <button
          type="button"
          title="Ctrl+S"
          onClick={() => (savedName ? void saveToServer(savedName) : ui.setDialog('save'))}
        >
          Save
        </button>
        <button type="button" onClick={() => ui.setDialog('save')}>
          Save as
        </button>
        <button type="button" onClick={downloadJson} aria-label="Download JSON">
          ⤓ JSON
        </button>
        <button type="button" onClick={() => fileRef.current?.click()} aria-label="Upload workflow">
          ⤒ Upload
        </button>
        <input
          ref={fileRef}
          type="file"
          hidden
          accept=".json,application/json,.png,image/png"
          aria-label="Upload workflow file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void importFile(f);
            e.target.value = '';
          }}
        />
        <span className="sep" />
        <button
          type="button"
          disabled={!canUndo}
          onClick={() => graphStore.getState().undo()}
          aria-label="Undo"
          title="Ctrl+Z"
        >
          ↶
        </button>
        <button
          type="button"
          disabled={!canRedo}
          onClick={() => graphStore.getState().redo()}
          aria-label="Redo"
          title="Ctrl+Shift+Z"
        >
          ↷
        </button>
      </nav>
      <div className="run-controls">
        {generalProblems.length > 0 && (
          <span className="error-text" role="alert">
            {generalProblems.join('; ')}
          </span>
        )}
        {runStatus && (
          <span className={`badge status-${runStatus}`} data-testid="run-status">
            {runStatus}
          </span>
        )}
        <button type="button" className="primary" onClick={() => void runWorkflow()} title="Ctrl+Enter">
          ▶ Run
        </button>
        <button
          type="button"
          onClick={() => void runSelectedOutputs()}
          title="Ctrl+Shift+Enter: run only what the selected output nodes need"
        >
          ▶ Selected
        </button>
        <button type="button" disabled={!active} onClick={() => void cancelCurrentRun()}>
          ■ Cancel
        </button>
        <button type="button" aria-pressed={ui.panel === 'queue'} onClick={() => ui.togglePanel('queue')}>
          Queue
        </button>
        <button
          type="button"
          aria-label="Keyboard shortcuts"
          aria-pressed={ui.panel === 'help'}
          onClick={() => ui.togglePanel('help')}
        >
          ?
        </button>
        <span
          className={`conn ${connected ? 'on' : 'off'}`}
          role="status"
          aria-label={connected ? 'connected' : 'disconnected'}
          title={connected ? 'Connected to the server' : 'Reconnecting…'}
        />
      </div>
    </header>
  );
}
