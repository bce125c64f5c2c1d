import type { LoraValue } from '../sdk/values.ts';

/**
 * LORA values carry their strengths in metadata under these keys (set by Load LoRA; a LoRA straight from
 * training has none and applies at 1.0). Keeping them in the value means one link = one LoRA with its
 * strengths, and changing a strength re-runs only what depends on it.
 */
export const UNET_STRENGTH_KEY = 'loraflow.unet_strength';
export const TE_STRENGTH_KEY = 'loraflow.te_strength';

function num(v: string | undefined, fallback: number): number {
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export function loraStrengths(l: LoraValue): { unet_strength: number; te_strength: number } {
  const unet = num(l.metadata[UNET_STRENGTH_KEY], 1);
  return { unet_strength: unet, te_strength: num(l.metadata[TE_STRENGTH_KEY], unet) };
}
