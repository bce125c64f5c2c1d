import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ema } from './ema.ts';

type Props = {
  steps: readonly number[];
  loss: readonly number[];
  smoothing: number;
  logScale: boolean;
  height?: number;
};

/** Raw loss (faint) and its EMA (bold) against the step, drawn with uPlot; updates in place as data grows. */
export function LossChart({ steps, loss, smoothing, logScale, height = 260 }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const data = useMemo<uPlot.AlignedData>(() => {
    const raw = loss.map((v) => (logScale && v <= 0 ? null : v));
    return [steps as number[], raw, ema(loss, smoothing).map((v, i) => (raw[i] === null ? null : v))];
  }, [steps, loss, smoothing, logScale]);
  const dataRef = useRef(data);
  dataRef.current = data;

  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const opts: uPlot.Options = {
      width: host.clientWidth || 600,
      height,
      scales: { x: { time: false }, y: logScale ? { distr: 3 } : {} },
      axes: [
        { stroke: '#8d94a3', grid: { stroke: '#2a2f3a' }, label: 'step' },
        { stroke: '#8d94a3', grid: { stroke: '#2a2f3a' }, size: 60 },
      ],
      series: [
        { label: 'step' },
        { label: 'loss', stroke: '#5c8dff55', width: 1 },
        { label: 'EMA', stroke: '#ffb74d', width: 2 },
      ],
      legend: { show: true },
    };
    const u = new uPlot(opts, dataRef.current, host);
    chart.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: host.clientWidth, height }));
    ro.observe(host);
    return () => {
      ro.disconnect();
      u.destroy();
      chart.current = null;
    };
  }, [logScale, height]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div ref={el} className="loss-chart" role="img" aria-label="Loss chart" />;
}
