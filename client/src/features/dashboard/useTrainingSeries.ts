import { useEffect, useState } from 'react';
import { onServerEvent } from '../run/eventsClient.ts';
import { getRunEvents } from '../run/runApi.ts';
import { addTrainingEvents, emptySeries, type TrainingSeries } from './trainingData.ts';
import {
  parseTrainingEvent,
  TRAINING_METRICS,
  TRAINING_SAMPLE,
  type TrainingEvent,
} from './trainingEvents.ts';

/**
 * The training series of one node in one run: stored events first (so a reload redraws everything), then
 * live `node.event`s. Live events that arrive while the history loads are buffered and merged after it.
 */
export function useTrainingSeries(
  runId: string | null,
  nodeId: string,
): { series: TrainingSeries; error: string | null } {
  const [series, setSeries] = useState<TrainingSeries>(emptySeries);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setSeries(emptySeries());
    setError(null);
    if (!runId) return;
    let live = true;
    let loaded = false;
    const buffer: TrainingEvent[] = [];
    const off = onServerEvent((ev) => {
      if (ev.kind !== 'node.event' || ev.runId !== runId || ev.nodeId !== nodeId) return;
      const parsed = parseTrainingEvent(ev.type, ev.data);
      if (!parsed) return;
      if (loaded) setSeries((s) => addTrainingEvents(s, [parsed]));
      else buffer.push(parsed);
    });
    Promise.all([
      getRunEvents(runId, { node: nodeId, type: TRAINING_METRICS }),
      getRunEvents(runId, { node: nodeId, type: TRAINING_SAMPLE }),
    ]).then(
      ([metrics, samples]) => {
        if (!live) return;
        const stored = [...metrics, ...samples]
          .sort((a, b) => a.seq - b.seq)
          .map((e) => parseTrainingEvent(e.type, e.data))
          .filter((e): e is TrainingEvent => e !== null);
        loaded = true;
        setSeries((s) => addTrainingEvents(addTrainingEvents(s, stored), buffer));
      },
      (err: unknown) => {
        if (!live) return;
        loaded = true;
        setError(err instanceof Error ? err.message : String(err));
        setSeries((s) => addTrainingEvents(s, buffer));
      },
    );
    return () => {
      live = false;
      off();
    };
  }, [runId, nodeId]);
  return { series, error };
}
