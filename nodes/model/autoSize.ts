import { z } from 'zod';
import type { ModelArch } from '../sdk/values.ts';

export const AUTO = 'auto';
export type AutoOr = typeof AUTO | number;

/** The side each base model was trained at (sd-architecture.md): what an "auto" size resolves to. */
export const NATIVE_SIZE: Readonly<Record<ModelArch, number>> = {
  sd1: 512,
  sd2: 512,
  'sd2-v': 768,
  sdxl: 1024,
};

export const AUTO_HELP = '"auto" = the model\'s own size: 512 for SD1/SD2, 768 for SD2 768-v, 1024 for SDXL';

/**
 * A param that defaults to "auto" and still takes a plain number, which keeps its meaning: a workflow saved
 * with 512 samples at 512 whatever the model. The editor shows it as a number field with an "auto" switch.
 */
export function autoOr(number: z.ZodNumber, auto = AUTO_HELP) {
  return z.union([z.literal(AUTO), number], { error: `a number or "auto" (${auto})` }).default(AUTO);
}

/** The model's native size for "auto", the number itself otherwise. */
export function resolveSize(value: AutoOr, arch: ModelArch): number {
  return value === AUTO ? NATIVE_SIZE[arch] : value;
}

/** A resolved width x height for logs and node output: "1024x1024 (auto for sdxl)", "1024x512 (width auto for sdxl)". */
export function describeSize(width: AutoOr, height: AutoOr, arch: ModelArch): string {
  const size = `${resolveSize(width, arch)}x${resolveSize(height, arch)}`;
  if (width === AUTO && height === AUTO) return `${size} (auto for ${arch})`;
  if (width === AUTO) return `${size} (width auto for ${arch})`;
  if (height === AUTO) return `${size} (height auto for ${arch})`;
  return size;
}
