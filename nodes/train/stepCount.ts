/**
 * kohya's step arithmetic, available before anything runs: every image counts `repeats` times, regularisation
 * images are cycled until they match that count (so an epoch doubles), batches hold `batchSize` samples, and an
 * optimizer step consumes `gradientAccumulation` batches. The engine's count can be slightly higher when images
 * fall into several aspect-ratio buckets (each bucket's last batch may be partial).
 */
export type StepCountInput = {
  /** Repeats of each training image (one entry per image). */
  trainRepeats: readonly number[];
  /** Number of regularisation images (any count > 0 doubles the samples per epoch). */
  regImages: number;
  batchSize: number;
  gradientAccumulation?: number;
  /** Epochs when > 0; otherwise `maxTrainSteps` decides. */
  maxTrainEpochs: number;
  maxTrainSteps: number;
};

export type StepCount = {
  /** Training samples per epoch (images x repeats). */
  samplesPerEpoch: number;
  /** Samples per epoch including the balanced regularisation samples. */
  samplesWithReg: number;
  batchesPerEpoch: number;
  stepsPerEpoch: number;
  totalSteps: number;
  epochs: number;
  /** One line for the node's description/display, e.g. `12 images × repeats = 40 ÷ batch 2 × 10 epochs = 200 steps`. */
  summary: string;
};

export function stepCountPreview(i: StepCountInput): StepCount {
  const batch = Math.max(1, Math.floor(i.batchSize));
  const accum = Math.max(1, Math.floor(i.gradientAccumulation ?? 1));
  const samplesPerEpoch = i.trainRepeats.reduce((a, r) => a + Math.max(1, Math.floor(r)), 0);
  const withReg = i.regImages > 0 && samplesPerEpoch > 0;
  const samplesWithReg = withReg ? samplesPerEpoch * 2 : samplesPerEpoch;
  const batchesPerEpoch = Math.ceil(samplesWithReg / batch);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / accum);
  let totalSteps: number;
  let epochs: number;
  if (stepsPerEpoch === 0) {
    totalSteps = 0;
    epochs = 0;
  } else if (i.maxTrainEpochs > 0) {
    epochs = Math.floor(i.maxTrainEpochs);
    totalSteps = epochs * stepsPerEpoch;
  } else {
    totalSteps = Math.max(0, Math.floor(i.maxTrainSteps));
    epochs = Math.ceil(totalSteps / stepsPerEpoch);
  }
  const images = i.trainRepeats.length;
  const parts = [
    `${images} image${images === 1 ? '' : 's'} × repeats = ${samplesPerEpoch}`,
    withReg ? ' × 2 (reg)' : '',
    ` ÷ batch ${batch}`,
    accum > 1 ? ` ÷ accumulation ${accum}` : '',
    i.maxTrainEpochs > 0
      ? ` × ${epochs} epoch${epochs === 1 ? '' : 's'}`
      : ` (max_train_steps, ${epochs} epochs)`,
    ` = ${totalSteps} steps`,
  ];
  return {
    samplesPerEpoch,
    samplesWithReg,
    batchesPerEpoch,
    stepsPerEpoch,
    totalSteps,
    epochs,
    summary: parts.join(''),
  };
}
