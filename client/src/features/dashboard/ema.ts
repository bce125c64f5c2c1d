/**
 * Exponential moving average with bias correction (as TensorBoard's smoothing slider): with weight w in
 * [0, 1), s_i = w·s_{i-1} + (1-w)·x_i, divided by (1 - w^(i+1)) so the start is not pulled towards 0.
 * Non-finite values are skipped (they give null and do not disturb the average).
 */
export function ema(values: readonly number[], weight: number): (number | null)[] {
  const w = Math.min(Math.max(weight, 0), 0.9999);
  const out: (number | null)[] = [];
  let acc = 0;
  let n = 0;
  for (const x of values) {
    if (!Number.isFinite(x)) {
      out.push(null);
      continue;
    }
    acc = w * acc + (1 - w) * x;
    n += 1;
    out.push(acc / (1 - w ** n));
  }
  return out;
}
