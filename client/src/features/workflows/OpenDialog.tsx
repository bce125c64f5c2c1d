import { useEffect, useRef, useState } from 'react';
import { useUi } from '../../app/uiStore.ts';
import { importFile, openFromServer } from './workflowActions.ts';
import { listWorkflows, type WorkflowListing } from './workflowApi.ts';

/** Open a saved workflow or a template (Ctrl+O), or upload a JSON/PNG file. */
export function OpenDialog() {
  const close = () => useUi.getState().setDialog('none');
  const [items, setItems] = useState<WorkflowListing[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    listWorkflows().then(setItems, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  const section = (source: 'saved' | 'template', title: string) => {
    const list = items?.filter((w) => w.source === source) ?? [];
    return (
      <section>
        <h3>{title}</h3>
        {items && list.length === 0 && <div className="muted">None yet</div>}
        <ul className="wf-list">
          {list.map((w) => (
            <li key={`${w.source}:${w.name}`}>
              <button
                type="button"
                onClick={async () => {
                  if (await openFromServer(w.name, w.source)) close();
                }}
              >
                <span className="wf-head">
                  <strong>{w.title ?? w.name}</strong>
                  <span className="muted date">{new Date(w.modified).toLocaleString()}</span>
                </span>
                {w.description && <span className="muted wf-desc">{w.description}</span>}
              </button>
            </li>
          ))}
        </ul>
      </section>
    );
  };
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-label="Open workflow">
        <header>
          <h2>Open workflow</h2>
          <button type="button" className="small" aria-label="Close" onClick={close}>
            ×
          </button>
        </header>
        {error && <div className="error-text">{error}</div>}
        {!items && !error && <div className="muted">Loading…</div>}
        {section('saved', 'Saved workflows')}
        {section('template', 'Templates')}
        <footer>
          <input
            ref={fileRef}
            type="file"
            accept=".json,application/json,.png,image/png"
            hidden
            aria-label="Upload workflow file"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (f && (await importFile(f))) close();
            }}
          />
          <button type="button" onClick={() => fileRef.current?.click()}>
            Upload JSON or PNG…
          </button>
        </footer>
      </div>
    </div>
  );
}
