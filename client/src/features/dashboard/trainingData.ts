import {
  TRAINING_METRICS,
  TRAINING_SAMPLE,
  type TrainingEvent,
  type TrainingMetrics,
  type TrainingSample,
} from './trainingEvents.ts';

/** Everything the dashboard draws, accumulated from stored and live events (deduplicated by step). */
export type TrainingSeries = {
  steps: number[];
  loss: number[];
  lossAvg: number[];
  lrUnet: number[];
  lrTe: number[];
  latest: TrainingMetrics | null;
  samples: TrainingSample[];
};

export function emptySeries(): TrainingSeries {
  return { steps: [], loss: [], lossAvg: [], lrUnet: [], lrTe: [], latest: null, samples: [] };
}

/**
 * Adds events to a series, returning a new series (or the same one when nothing changed). Metrics must move
 * forward in step; a repeated or older step (the same event from history and live) is ignored. Samples are
 * kept ordered by step, one per (step, prompt).
 */
export function addTrainingEvents(series: TrainingSeries, events: readonly TrainingEvent[]): TrainingSeries {
  let next = series;
  const copy = () => {
    if (next === series) {
      next = {
        steps: [...series.steps],
        loss: [...series.loss],
        lossAvg: [...series.lossAvg],
        lrUnet: [...series.lrUnet],
        lrTe: [...series.lrTe],
        latest: series.latest,
        samples: series.samples,
      };
    }
    return next;
  };
  for (const ev of events) {
    if (ev.type === TRAINING_METRICS) {
      const m = ev.data;
      const last = next.steps[next.steps.length - 1];
      if (last !== undefined && m.step <= last) continue;
      const s = copy();
      s.steps.push(m.step);
      s.loss.push(m.loss);
      s.lossAvg.push(m.loss_avg);
      s.lrUnet.push(m.lr.unet);
      s.lrTe.push(m.lr.te);
      s.latest = m;
    } else if (ev.type === TRAINING_SAMPLE) {
      const d = ev.data;
      if (next.samples.some((x) => x.step === d.step && x.prompt === d.prompt)) continue;
      const s = copy();
      s.samples = [...s.samples, d].sort((a, b) => a.step - b.step);
    }
  }
  return next;
}

/** Samples grouped by step, newest step first, for the sample grid. */
export function samplesByStep(
  samples: readonly TrainingSample[],
): { step: number; samples: TrainingSample[] }[] {
  const map = new Map<number, TrainingSample[]>();
  for (const s of samples) {
    const list = map.get(s.step);
    if (list) list.push(s);
    else map.set(s.step, [s]);
  }
  return [...map.entries()].sort(([a], [b]) => b - a).map(([step, list]) => ({ step, samples: list }));
}

export function formatEta(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${r} s` : `${r} s`;
}
