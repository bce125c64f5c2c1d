import { describe, expect, it } from 'vitest';
import { addTrainingEvents, emptySeries, formatEta, samplesByStep } from './trainingData.ts';
import { parseTrainingEvent, type TrainingEvent } from './trainingEvents.ts';

const metrics = (step: number, loss: number): TrainingEvent => ({
  type: 'training.metrics',
  data: {
    step,
    epoch: 1,
    loss,
    loss_avg: loss,
    lr: { unet: 1e-4, te: 0 },
    its: 2.5,
    eta_s: null,
    mem_mb: 900,
  },
});
const sample = (step: number, prompt: string): TrainingEvent => ({
  type: 'training.sample',
  data: { step, prompt, image: 'a'.repeat(64) },
});

describe('training series', () => {
  it('accumulates metrics in step order and ignores replays of stored events', () => {
    let s = addTrainingEvents(emptySeries(), [metrics(1, 0.5), metrics(2, 0.4)]);
    s = addTrainingEvents(s, [metrics(2, 0.4), metrics(3, 0.3)]);
    expect(s.steps).toEqual([1, 2, 3]);
    expect(s.loss).toEqual([0.5, 0.4, 0.3]);
    expect(s.latest?.step).toBe(3);
    expect(addTrainingEvents(s, [metrics(1, 9)])).toBe(s);
  });
  it('groups samples by step, newest first, without duplicates', () => {
    const s = addTrainingEvents(emptySeries(), [
      sample(100, 'a'),
      sample(200, 'a'),
      sample(100, 'b'),
      sample(100, 'a'),
    ]);
    expect(samplesByStep(s.samples).map((g) => [g.step, g.samples.map((x) => x.prompt)])).toEqual([
      [200, ['a']],
      [100, ['a', 'b']],
    ]);
  });
  it('validates event payloads', () => {
    expect(parseTrainingEvent('training.metrics', metrics(1, 0.1).data)).not.toBeNull();
    expect(parseTrainingEvent('training.metrics', { step: 1, loss: 'x' })).toBeNull();
    expect(parseTrainingEvent('training.sample', { step: 1, prompt: 'p', image: 'nothex' })).toBeNull();
    expect(parseTrainingEvent('other', {})).toBeNull();
  });
  it('formats ETA', () => {
    expect(formatEta(null)).toBe('—');
    expect(formatEta(42)).toBe('42 s');
    expect(formatEta(3725)).toBe('1 h 2 min');
  });
});
