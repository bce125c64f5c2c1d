import { formatNodeError } from '../../../../server/workflow/nodeErrors.ts';
import { ApiError } from '../../api/http.ts';
import { useUi } from '../../app/uiStore.ts';
import { graphStore } from '../graph/graphInstance.ts';
import { isDirty } from '../graph/graphStore.ts';
import { resetExecution } from '../run/executionStore.ts';
import { emptyMeta, fromDocument, toDocument } from './document.ts';
import { isPng, workflowFromPng } from './pngText.ts';
import { checkWorkflowName, readWorkflow, writeWorkflow } from './workflowApi.ts';

const toast = (m: string, kind: 'error' | 'info' = 'error') => useUi.getState().toast(m, kind);

export function confirmDiscard(): boolean {
  if (!isDirty(graphStore.getState())) return true;
  return window.confirm('The workflow has unsaved changes. Discard them?');
}

export function currentDocument() {
  return toDocument(graphStore.getState());
}

export function newWorkflow(): void {
  if (!confirmDiscard()) return;
  graphStore.getState().load([], [], emptyMeta(), null);
  resetExecution();
}

/** Loads a document into the canvas; `savedName` when it is a saved (writable) server workflow. */
export function loadDocument(input: unknown, savedName: string | null, fallbackName?: string): boolean {
  const g = fromDocument(input);
  if (!g.ok) {
    toast(`Cannot load the workflow: ${g.errors.map(formatNodeError).join('; ')}`);
    return false;
  }
  const meta =
    fallbackName && (!g.meta.name || g.meta.name === 'untitled') ? { ...g.meta, name: fallbackName } : g.meta;
  graphStore.getState().load(g.nodes, g.edges, meta, savedName);
  resetExecution();
  useUi.getState().requestFit();
  return true;
}

/** The workflow a first start opens (nothing autosaved yet): a new user can press Run straight away. */
export const START_TEMPLATE = 'quickstart';

export async function openStartWorkflow(): Promise<void> {
  try {
    const r = await readWorkflow(START_TEMPLATE, 'template');
    loadDocument(r.workflow, null, r.name);
  } catch {
    // No such template in this installation: the blank canvas is a fine start.
  }
}

export async function openFromServer(name: string, source?: 'template' | 'saved'): Promise<boolean> {
  if (!confirmDiscard()) return false;
  try {
    const r = await readWorkflow(name, source);
    const ok = loadDocument(r.workflow, r.readOnly ? null : r.name, r.name);
    if (ok) toast(`Opened ${r.source === 'template' ? 'template' : 'workflow'} "${r.name}"`, 'info');
    return ok;
  } catch (err) {
    toast(err instanceof Error ? err.message : String(err));
    return false;
  }
}

export async function saveToServer(name: string): Promise<boolean> {
  const checked = checkWorkflowName(name);
  if (!checked.ok) {
    toast(checked.reason);
    return false;
  }
  const g = graphStore.getState();
  const doc = toDocument({ ...g, meta: { ...g.meta, name: checked.name } });
  try {
    await writeWorkflow(checked.name, doc);
    graphStore.getState().markSaved(checked.name);
    toast(`Saved "${checked.name}"`, 'info');
    return true;
  } catch (err) {
    const reason = err instanceof ApiError || err instanceof Error ? err.message : String(err);
    toast(`Save failed: ${reason}`);
    return false;
  }
}

export function downloadJson(): void {
  const doc = currentDocument();
  const blob = new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${doc.meta.name || 'workflow'}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Loads a dropped or uploaded `.json` workflow, or a PNG with an embedded `loraflow.workflow` chunk. */
export async function importFile(file: File): Promise<boolean> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const base = file.name.replace(/\.(json|png)$/i, '');
  let text: string;
  if (isPng(bytes)) {
    const embedded = await workflowFromPng(bytes);
    if (!embedded) {
      toast(`${file.name} has no embedded workflow`);
      return false;
    }
    text = embedded;
  } else {
    text = new TextDecoder().decode(bytes);
  }
  if (!confirmDiscard()) return false;
  const ok = loadDocument(text, null, base);
  if (ok) toast(`Loaded workflow from ${file.name}`, 'info');
  return ok;
}
