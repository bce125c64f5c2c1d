import { formatNodeError } from '../../../../server/workflow/nodeErrors.ts';
import { useUi } from '../../app/uiStore.ts';
import { graphStore } from '../graph/graphInstance.ts';
import { useNodeDefs } from '../graph/nodeDefsStore.ts';
import { toDocument } from '../workflows/document.ts';
import { dispatchEvent } from './eventsClient.ts';
import { type NodeProblem, type NodeRun, useExecution } from './executionStore.ts';
import { plannedNodes } from './plannedNodes.ts';
import { cancelRun, getRun, startRun } from './runApi.ts';
import { nodeRunFromState, runStatusFromServer } from './serverEvents.ts';

/** Queues the current workflow (or only what the given output nodes need). */
export async function runWorkflow(outputs?: string[]): Promise<void> {
  const doc = toDocument(graphStore.getState());
  const defs = useNodeDefs.getState().defs;
  useExecution.setState({ problems: {}, generalProblems: [] });
  let result: Awaited<ReturnType<typeof startRun>>;
  try {
    result = await startRun(doc, outputs);
  } catch (err) {
    useUi.getState().toast(`Cannot start the run: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  if (!result.ok) {
    const problems: Record<string, NodeProblem[]> = {};
    const general: string[] = [];
    for (const e of result.errors) {
      if (e.nodeId === null) {
        general.push(e.message);
        continue;
      }
      const p: NodeProblem = { message: e.message };
      if (e.field) p.field = e.field.startsWith('params.') ? e.field.slice('params.'.length) : e.field;
      const list = problems[e.nodeId] ?? [];
      list.push(p);
      problems[e.nodeId] = list;
    }
    if (result.errors.length === 0) general.push(result.message);
    useExecution.setState({ problems, generalProblems: general });
    const first = result.errors[0];
    useUi
      .getState()
      .toast(
        `The workflow has ${result.errors.length || 1} problem${result.errors.length > 1 ? 's' : ''}: ${first ? formatNodeError(first) : result.message}`,
      );
    return;
  }
  const nodes: Record<string, NodeRun> = {};
  for (const id of plannedNodes(doc, defs, outputs)) nodes[id] = { status: 'queued' };
  const s = useExecution.getState();
  // Adopt the run unless the server's events for it already arrived first.
  if (s.runId !== result.runId) useExecution.setState({ runId: result.runId, runStatus: 'queued', nodes });
  else useExecution.setState({ nodes: { ...nodes, ...s.nodes } });
  dispatchEvent({ kind: 'run', runId: result.runId, status: useExecution.getState().runStatus ?? 'queued' });
}

export async function cancelCurrentRun(): Promise<void> {
  const { runId, runStatus } = useExecution.getState();
  if (!runId || (runStatus !== 'running' && runStatus !== 'queued')) return;
  try {
    await cancelRun(runId);
  } catch (err) {
    useUi.getState().toast(`Cancel failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Shows a past (or still running) run's node states, e.g. after a reload when the server's snapshot no
 * longer lists it because it finished. Live state from the websocket wins over this fetched copy.
 */
export async function restoreRun(runId: string): Promise<void> {
  let detail: Awaited<ReturnType<typeof getRun>>;
  try {
    detail = await getRun(runId);
  } catch {
    return;
  }
  const s = useExecution.getState();
  if (s.runId !== null && s.runId !== runId) return;
  if (s.runId === runId && (s.runStatus === 'running' || s.runStatus === 'queued')) return;
  const nodes = Object.fromEntries(detail.nodes.map((n) => [n.nodeId, nodeRunFromState(n)]));
  useExecution.setState({ runId, runStatus: runStatusFromServer(detail.status), nodes });
}

/** The selected nodes that are output nodes (what "run selected" runs towards). */
export function selectedOutputs(): string[] {
  const defs = useNodeDefs.getState().defs;
  return graphStore
    .getState()
    .nodes.filter((n) => n.selected && n.type === 'workflow' && defs.byType[n.data.type]?.output === true)
    .map((n) => n.id);
}

/** Runs only what the selected output nodes need. */
export async function runSelectedOutputs(): Promise<void> {
  const outputs = selectedOutputs();
  if (outputs.length === 0) {
    useUi
      .getState()
      .toast('Select one or more output nodes (savers, previews) to run only what they need', 'info');
    return;
  }
  await runWorkflow(outputs);
}
