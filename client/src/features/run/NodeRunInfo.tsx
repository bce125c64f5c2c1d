import { memo, useMemo, useState } from 'react';
import { createPortal } from 'react-dom';
import { type NodeStatus, useNodeRun } from './executionStore.ts';
import { artifactUrl, extractPreviews, fullImageHash, previewSrc } from './previews.ts';

const LABELS: Record<NodeStatus, string> = {
  idle: '',
  queued: 'queued',
  running: 'running',
  cached: 'cached',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
  skipped: 'skipped',
};

/** The state badge in a node's title bar. */
export const NodeStatusBadge = memo(function NodeStatusBadge({ id }: { id: string }) {
  const status = useNodeRun(id).status;
  if (status === 'idle') return null;
  return (
    <span
      className={`badge status-${status}`}
      data-status={status}
      role="status"
      aria-label={`state ${status}`}
    >
      {LABELS[status]}
    </span>
  );
});

/** Progress bar, error message and previews of one node, fed by the execution store only. */
export const NodeRunInfo = memo(function NodeRunInfo({
  id,
  compact = false,
}: {
  id: string;
  compact?: boolean;
}) {
  const run = useNodeRun(id);
  const previews = useMemo(() => extractPreviews(run.display), [run.display]);
  const [big, setBig] = useState<string | null>(null);
  const pct =
    run.max && run.max > 0 && run.value !== undefined ? Math.min(100, (100 * run.value) / run.max) : null;
  return (
    <div className="run-info" data-status={run.status}>
      {run.status === 'running' && (
        <div
          className="progress"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct ?? undefined}
          aria-label="progress"
        >
          <div
            className={`bar${pct === null ? ' indeterminate' : ''}`}
            style={pct === null ? undefined : { width: `${pct}%` }}
          />
          <span className="progress-text">
            {pct !== null ? `${Math.floor(pct)}%` : ''}
            {run.text ? ` ${run.text}` : ''}
          </span>
        </div>
      )}
      {run.livePreview && (
        <figure className="live-preview">
          <img src={run.livePreview.image} alt={`live preview, ${run.livePreview.label}`} />
          <figcaption>{run.livePreview.label}</figcaption>
        </figure>
      )}
      {run.status === 'failed' && run.error && (
        <div className="node-error" role="alert">
          {run.error}
        </div>
      )}
      {run.warnings?.map((w) => (
        <div key={w} className="node-warning">
          ⚠ {w}
        </div>
      ))}
      {!compact && previews.lines.length > 0 && (
        <div className="display-lines">
          {previews.lines.map((l) => (
            <div key={l}>{l}</div>
          ))}
        </div>
      )}
      {!compact && previews.images.length > 0 && (
        <div className="thumbs nodrag nowheel">
          {previews.images.map((img) => (
            <button
              key={img.hash}
              type="button"
              className="thumb"
              onClick={() => setBig(fullImageHash(img))}
              title={img.caption ?? img.label ?? ''}
            >
              <img src={previewSrc(img)} alt={img.caption ?? img.label ?? 'preview'} loading="lazy" />
              {(img.caption ?? img.label) && <span className="cap">{img.caption ?? img.label}</span>}
            </button>
          ))}
          {previews.total > previews.images.length && (
            <span className="muted">+{previews.total - previews.images.length}</span>
          )}
        </div>
      )}
      {big &&
        createPortal(
          <button type="button" className="lightbox" aria-label="Close preview" onClick={() => setBig(null)}>
            <img src={artifactUrl(big)} alt="enlarged preview" />
          </button>,
          document.body,
        )}
    </div>
  );
});
