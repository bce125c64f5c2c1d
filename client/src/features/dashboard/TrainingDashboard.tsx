import { useState } from 'react';
import { useUi } from '../../app/uiStore.ts';
import { useGraph } from '../graph/graphInstance.ts';
import { useNodeDefs } from '../graph/nodeDefsStore.ts';
import { useExecution } from '../run/executionStore.ts';
import { artifactUrl } from '../run/previews.ts';
import { cancelCurrentRun } from '../run/runActions.ts';
import { LossChart } from './LossChart.tsx';
import { formatEta, samplesByStep } from './trainingData.ts';
import { useTrainingSeries } from './useTrainingSeries.ts';

function fmt(n: number | undefined, digits = 3): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return Math.abs(n) < 1e-2 && n !== 0 ? n.toExponential(2) : n.toFixed(digits);
}

/** Loss chart, rates, ETA, memory and samples of one training node in the current run. */
export function TrainingDashboard({ nodeId }: { nodeId: string }) {
  const close = () => useUi.getState().openDashboard(null);
  const runId = useExecution((s) => s.runId);
  const runStatus = useExecution((s) => s.runStatus);
  const nodeStatus = useExecution((s) => s.nodes[nodeId]?.status ?? 'idle');
  const defs = useNodeDefs((s) => s.defs);
  const title = useGraph((s) => {
    const n = s.nodes.find((x) => x.id === nodeId);
    return n && n.type === 'workflow'
      ? (n.data.title ?? defs.byType[n.data.type]?.title ?? n.data.type)
      : nodeId;
  });
  const { series, error } = useTrainingSeries(runId, nodeId);
  const [smoothing, setSmoothing] = useState(0.9);
  const [logScale, setLogScale] = useState(false);
  const [big, setBig] = useState<{ hash: string; label: string } | null>(null);
  const m = series.latest;
  const active = runStatus === 'running' || runStatus === 'queued';
  return (
    <div className="modal-backdrop">
      <div className="modal dashboard" role="dialog" aria-modal="true" aria-label="Training dashboard">
        <header>
          <h2>
            Training — {title} <span className={`badge status-${nodeStatus}`}>{nodeStatus}</span>
          </h2>
          <div className="row">
            <button
              type="button"
              className="danger"
              disabled={!active}
              onClick={() => void cancelCurrentRun()}
              title="Cancels the run; the trainer saves its last checkpoint so you can resume later"
            >
              ■ Stop and save
            </button>
            <button type="button" className="small" aria-label="Close dashboard" onClick={close}>
              ×
            </button>
          </div>
        </header>
        {!runId && <div className="muted">No run yet: press Run (Ctrl+Enter) to train.</div>}
        {error && <div className="error-text">Cannot load stored metrics: {error}</div>}
        <dl className="stats">
          <div>
            <dt>Step</dt>
            <dd data-testid="stat-step">
              {m ? `${m.step}${m.total_steps ? ` / ${m.total_steps}` : ''}` : '—'}
            </dd>
          </div>
          <div>
            <dt>Epoch</dt>
            <dd>{m?.epoch ?? '—'}</dd>
          </div>
          <div>
            <dt>Loss (avg)</dt>
            <dd>
              {fmt(m?.loss)} ({fmt(m?.loss_avg)})
            </dd>
          </div>
          <div>
            <dt>LR UNet / TE</dt>
            <dd>
              {fmt(m?.lr.unet)} / {fmt(m?.lr.te)}
            </dd>
          </div>
          <div>
            <dt>Speed</dt>
            <dd>{m ? `${m.its.toFixed(2)} it/s` : '—'}</dd>
          </div>
          <div>
            <dt>ETA</dt>
            <dd>{m ? formatEta(m.eta_s) : '—'}</dd>
          </div>
          <div>
            <dt>Memory</dt>
            <dd>{m ? `${Math.round(m.mem_mb)} MiB` : '—'}</dd>
          </div>
        </dl>
        <div className="chart-controls">
          <label htmlFor="ema-weight">Smoothing {smoothing.toFixed(2)}</label>
          <input
            id="ema-weight"
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))}
          />
          <label>
            <input type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> Log
            scale
          </label>
          <span className="muted">{series.steps.length} points</span>
        </div>
        {series.steps.length > 0 ? (
          <LossChart steps={series.steps} loss={series.loss} smoothing={smoothing} logScale={logScale} />
        ) : (
          <div className="muted chart-empty">No metrics yet.</div>
        )}
        <h3>Samples</h3>
        {series.samples.length === 0 && <div className="muted">No samples yet.</div>}
        <div className="sample-steps">
          {samplesByStep(series.samples).map((g) => (
            <section key={g.step}>
              <h4>step {g.step}</h4>
              <div className="sample-grid">
                {g.samples.map((s) => (
                  <button
                    key={`${s.step}:${s.prompt}`}
                    type="button"
                    className="sample"
                    onClick={() => setBig({ hash: s.image, label: `step ${s.step} — ${s.prompt}` })}
                  >
                    <img src={artifactUrl(s.image)} alt={`step ${s.step}: ${s.prompt}`} loading="lazy" />
                    <span className="cap">{s.prompt}</span>
                  </button>
                ))}
              </div>
            </section>
          ))}
        </div>
        {big && (
          <button type="button" className="lightbox" aria-label="Close sample" onClick={() => setBig(null)}>
            <figure>
              <img src={artifactUrl(big.hash)} alt={big.label} />
              <figcaption>{big.label}</figcaption>
            </figure>
          </button>
        )}
      </div>
    </div>
  );
}
