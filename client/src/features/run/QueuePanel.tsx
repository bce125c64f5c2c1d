import { useEffect, useState } from 'react';
import type { RunSummary } from '../../../../server/queue/runTypes.ts';
import { useUi } from '../../app/uiStore.ts';
import { confirmDiscard, loadDocument } from '../workflows/workflowActions.ts';
import { onServerEvent } from './eventsClient.ts';
import { useExecution } from './executionStore.ts';
import { extractPreviews, previewSrc } from './previews.ts';
import { cancelRun, getRun, listRuns } from './runApi.ts';
import { nodeRunFromState, runStatusFromServer } from './serverEvents.ts';

function duration(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Queue and history: status, duration, thumbnails; cancel a live run or re-open a past run's workflow. */
export function QueuePanel({ onClose }: { onClose(): void }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [thumbs, setThumbs] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<string | null>(null);
  const queue = useExecution((s) => s.queue);
  useEffect(() => {
    let live = true;
    const refresh = () =>
      listRuns().then(
        (r) => live && setRuns(r),
        (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
      );
    void refresh();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = onServerEvent((ev) => {
      if (ev.kind !== 'run') return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    });
    return () => {
      live = false;
      off();
      if (timer) clearTimeout(timer);
    };
  }, []);
  useEffect(() => {
    // Thumbnails of finished runs, fetched once per run.
    for (const r of runs ?? []) {
      if (thumbs[r.id] || (r.status !== 'succeeded' && r.status !== 'failed')) continue;
      setThumbs((t) => ({ ...t, [r.id]: [] }));
      getRun(r.id).then(
        (d) => {
          const srcs = d.nodes.flatMap((n) =>
            extractPreviews(nodeRunFromState(n).display, 4).images.map(previewSrc),
          );
          setThumbs((t) => ({ ...t, [r.id]: [...new Set(srcs)].slice(0, 4) }));
        },
        () => undefined,
      );
    }
  }, [runs, thumbs]);

  const reopen = async (id: string) => {
    if (!confirmDiscard()) return;
    try {
      const detail = await getRun(id);
      if (loadDocument(detail.workflow, null, detail.name ?? `run ${detail.seq}`)) {
        const nodes = Object.fromEntries(detail.nodes.map((n) => [n.nodeId, nodeRunFromState(n)]));
        useExecution.setState({ runId: detail.id, runStatus: runStatusFromServer(detail.status), nodes });
      }
    } catch (e) {
      useUi.getState().toast(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <aside className="side-panel" aria-label="Queue and history">
      <header>
        <h2>Queue &amp; history</h2>
        <button type="button" className="small" aria-label="Close queue" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="muted">
        {queue.running} running · {queue.pending} waiting
      </div>
      {error && <div className="error-text">{error}</div>}
      <ul className="runs">
        {runs?.map((r) => (
          <li key={r.id} className={`run status-${r.status}`} data-testid="run-row">
            <div className="run-line">
              <span className={`badge status-${r.status}`}>{r.status}</span>
              <span className="run-name">{r.name ?? `run ${r.seq}`}</span>
              <span className="muted">{duration(r.durationMs)}</span>
            </div>
            {r.error && <div className="error-text small-text">{r.error}</div>}
            {thumbs[r.id] && thumbs[r.id]!.length > 0 && (
              <div className="run-thumbs">
                {thumbs[r.id]!.map((src) => (
                  <img key={src} src={src} alt="run output" loading="lazy" />
                ))}
              </div>
            )}
            <div className="run-actions">
              <span className="muted">{new Date(r.created).toLocaleTimeString()}</span>
              {(r.status === 'running' || r.status === 'queued') && (
                <button type="button" className="small" onClick={() => void cancelRun(r.id)}>
                  Cancel
                </button>
              )}
              <button
                type="button"
                className="small"
                onClick={() => void reopen(r.id)}
                aria-label={`Re-open workflow of run ${r.seq}`}
              >
                Re-open
              </button>
            </div>
          </li>
        ))}
        {runs && runs.length === 0 && <li className="muted">No runs yet</li>}
      </ul>
    </aside>
  );
}
