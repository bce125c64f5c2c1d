import { describe, expect, it } from 'vitest';
import { stepCountPreview } from './stepCount.ts';

describe('stepCountPreview', () => {
  it('is images × repeats ÷ batch × epochs', () => {
    const s = stepCountPreview({
      trainRepeats: [10, 10, 10, 10],
      regImages: 0,
      batchSize: 2,
      maxTrainEpochs: 5,
      maxTrainSteps: 1600,
    });
    expect(s).toMatchObject({
      samplesPerEpoch: 40,
      batchesPerEpoch: 20,
      stepsPerEpoch: 20,
      totalSteps: 100,
      epochs: 5,
    });
    expect(s.summary).toBe('4 images × repeats = 40 ÷ batch 2 × 5 epochs = 100 steps');
  });

  it('doubles with regularisation images and rounds partial batches up', () => {
    const s = stepCountPreview({
      trainRepeats: [3, 3, 1],
      regImages: 2,
      batchSize: 4,
      maxTrainEpochs: 2,
      maxTrainSteps: 0,
    });
    expect(s.samplesWithReg).toBe(14);
    expect(s.batchesPerEpoch).toBe(4);
    expect(s.totalSteps).toBe(8);
    expect(s.summary).toContain('× 2 (reg)');
  });

  it('uses max_train_steps when no epochs are set, with accumulation', () => {
    const s = stepCountPreview({
      trainRepeats: [5, 5],
      regImages: 0,
      batchSize: 1,
      gradientAccumulation: 2,
      maxTrainEpochs: 0,
      maxTrainSteps: 12,
    });
    expect(s.stepsPerEpoch).toBe(5);
    expect(s.totalSteps).toBe(12);
    expect(s.epochs).toBe(3);
  });

  it('reports zero steps for an empty dataset', () => {
    expect(
      stepCountPreview({ trainRepeats: [], regImages: 3, batchSize: 1, maxTrainEpochs: 3, maxTrainSteps: 0 })
        .totalSteps,
    ).toBe(0);
  });
});
