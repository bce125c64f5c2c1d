import { useEffect, useRef, useState } from 'react';
import { useUi } from '../../app/uiStore.ts';
import { graphStore } from '../graph/graphInstance.ts';
import { saveToServer } from './workflowActions.ts';
import { checkWorkflowName } from './workflowApi.ts';

/** Asks for a name the first time a workflow is saved (or for "Save as"). */
export function SaveDialog() {
  const close = () => useUi.getState().setDialog('none');
  const [name, setName] = useState(() => graphStore.getState().savedName ?? graphStore.getState().meta.name);
  const check = checkWorkflowName(name);
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => inputRef.current?.select(), []);
  return (
    <div className="modal-backdrop">
      <form
        className="modal small-modal"
        role="dialog"
        aria-modal="true"
        aria-label="Save workflow"
        onSubmit={async (e) => {
          e.preventDefault();
          if (check.ok && (await saveToServer(check.name))) close();
        }}
      >
        <header>
          <h2>Save workflow</h2>
        </header>
        <label htmlFor="save-name">Name</label>
        <input
          id="save-name"
          ref={inputRef}
          value={name}
          aria-invalid={!check.ok}
          onChange={(e) => setName(e.target.value)}
        />
        {!check.ok && <div className="field-error">{check.reason}</div>}
        <footer>
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!check.ok}>
            Save
          </button>
        </footer>
      </form>
    </div>
  );
}
