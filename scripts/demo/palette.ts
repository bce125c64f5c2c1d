import { z } from 'zod';

/** Colours of the demo data. Yellow is reserved for the demo concept (the zkz star): the base set never uses it. */
export const ColorName = z.enum([
  'red',
  'green',
  'blue',
  'white',
  'black',
  'purple',
  'orange',
  'grey',
  'yellow',
]);
export type ColorName = z.infer<typeof ColorName>;
export type Rgb = readonly [number, number, number];

/**
 * Far apart from each other and from the 50% blends of the others (a red/blue edge pixel is not purple), so
 * a nearest-colour lookup classifies clean pixels exactly.
 */
export const PALETTE: Readonly<Record<ColorName, Rgb>> = {
  red: [220, 30, 30],
  green: [30, 170, 60],
  blue: [30, 80, 230],
  white: [245, 245, 245],
  black: [20, 20, 20],
  purple: [150, 40, 200],
  orange: [245, 130, 20],
  grey: [128, 128, 128],
  yellow: [250, 210, 20],
};

/** Shape colours of the base set (no yellow, no grey). */
export const BASE_SHAPE_COLORS: readonly ColorName[] = [
  'red',
  'green',
  'blue',
  'white',
  'black',
  'purple',
  'orange',
];
/** Background colours of both sets (no yellow). */
export const BACKGROUND_COLORS: readonly ColorName[] = [...BASE_SHAPE_COLORS, 'grey'];
/** The demo concept's colour. */
export const CONCEPT_COLOR: ColorName = 'yellow';

export function colorDistance(a: Rgb, b: Rgb): number {
  const dr = a[0] - b[0];
  const dg = a[1] - b[1];
  const db = a[2] - b[2];
  return Math.sqrt(dr * dr + dg * dg + db * db);
}

/** The palette colour nearest to `rgb` among `names`, and its distance. */
export function nearestColor(
  rgb: Rgb,
  names: readonly ColorName[] = ColorName.options,
): {
  name: ColorName;
  distance: number;
} {
  let best: ColorName = names[0]!;
  let bestD = Number.POSITIVE_INFINITY;
  for (const n of names) {
    const d = colorDistance(rgb, PALETTE[n]);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return { name: best, distance: bestD };
}
