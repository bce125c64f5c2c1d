/**
 * A small, documented classifier for 64x64 demo images (generated data or model samples):
 *
 * 1. Background: the 1-pixel border is assigned to the nearest palette colour; the most frequent colour is the
 *    background, plus a second one when it covers at least 15% of the border (two-tone backgrounds). The
 *    background colours are the mean RGB of their border pixels, so a model's slightly-off colours still work.
 * 2. Foreground: pixels farther than FOREGROUND_DISTANCE (RGB Euclidean) from every background colour; the
 *    largest 4-connected component of them is the object (specks of sampling noise are dropped).
 * 3. Colour: majority vote of the nearest palette colour over the object's interior (the object eroded by one
 *    pixel, so anti-aliased edges, whose blends can resemble a third colour, do not vote).
 * 4. Shape: the object's bounding box is resampled to a 28x28 occupancy map (inside 2 empty cells) and compared, by Pearson
 *    correlation, with templates of every shape rendered by the generator itself (same normalisation); the
 *    best correlation wins. Normalising the box makes it size- and position-invariant.
 * 5. Concept metrics: `starYellowFraction`, the fraction of all pixels whose nearest palette colour is yellow
 *    (within YELLOW_DISTANCE), and `starCorrelation`, the object's correlation with the star template.
 */
import sharp from 'sharp';
import { BASE_SHAPE_COLORS, ColorName, nearestColor, PALETTE, type Rgb } from './palette.ts';
import { coverageMap, ShapeName } from './shapes.ts';

export const FOREGROUND_DISTANCE = 60;
export const YELLOW_DISTANCE = 70;
const SECOND_BACKGROUND_SHARE = 0.15;
const GRID = 32;
/** Empty cells around the resampled box, so a filled square still has contrast to correlate. */
const PAD = 2;
const INNER = GRID - 2 * PAD;
/** Colours a shape may have: the base colours and the concept's yellow. */
const SHAPE_COLORS: readonly ColorName[] = [...BASE_SHAPE_COLORS, 'yellow'];

export interface Evaluation {
  width: number;
  height: number;
  /** Background palette colours, most frequent first (one or two). */
  background: ColorName[];
  /** Share of the image covered by the object (largest foreground component). */
  objectFraction: number;
  /** null when there is no object (a blank or pure-noise image). */
  color: ColorName | null;
  shape: ShapeName | null;
  /** Correlation with each shape template (−1..1); all 0 without an object. */
  shapeScores: Record<ShapeName, number>;
  starYellowFraction: number;
  starCorrelation: number;
}

const NAMES = ColorName.options;
const COLOR_VALUES = NAMES.map((c) => PALETTE[c]);
const YELLOW_INDEX = NAMES.indexOf('yellow');

/** Whether the nearest palette colour is yellow, within YELLOW_DISTANCE (allocation-free: runs per pixel). */
function isStarYellow(r: number, g: number, b: number): boolean {
  let best = -1;
  let bestD = Number.POSITIVE_INFINITY;
  for (let k = 0; k < COLOR_VALUES.length; k++) {
    const c = COLOR_VALUES[k]!;
    const d = (r - c[0]) ** 2 + (g - c[1]) ** 2 + (b - c[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best === YELLOW_INDEX && bestD <= YELLOW_DISTANCE * YELLOW_DISTANCE;
}

function pixel(rgb: Uint8Array, i: number): Rgb {
  return [rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!];
}

function borderIndices(w: number, h: number): number[] {
  const out: number[] = [];
  for (let x = 0; x < w; x++) out.push(x, (h - 1) * w + x);
  for (let y = 1; y < h - 1; y++) out.push(y * w, y * w + w - 1);
  return out;
}

function estimateBackground(rgb: Uint8Array, w: number, h: number): { names: ColorName[]; means: Rgb[] } {
  const groups = new Map<ColorName, { n: number; sum: [number, number, number] }>();
  const border = borderIndices(w, h);
  for (const i of border) {
    const p = pixel(rgb, i);
    const { name } = nearestColor(p);
    const g = groups.get(name) ?? { n: 0, sum: [0, 0, 0] };
    g.n++;
    for (let c = 0; c < 3; c++) g.sum[c]! += p[c]!;
    groups.set(name, g);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]));
  const kept = sorted.filter(
    ([, g], k) => k === 0 || (k === 1 && g.n >= SECOND_BACKGROUND_SHARE * border.length),
  );
  return {
    names: kept.map(([name]) => name),
    means: kept.map(([, g]): Rgb => [g.sum[0] / g.n, g.sum[1] / g.n, g.sum[2] / g.n]),
  };
}

/** The largest 4-connected component of `mask` (as pixel indices). */
function largestComponent(mask: Uint8Array, w: number, h: number): number[] {
  const seen = new Uint8Array(mask.length);
  let best: number[] = [];
  const stack: number[] = [];
  const visit = (j: number) => {
    if (mask[j] && !seen[j]) {
      seen[j] = 1;
      stack.push(j);
    }
  };
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const comp: number[] = [];
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      comp.push(i);
      const x = i % w;
      const y = (i - x) / w;
      if (x > 0) visit(i - 1);
      if (x < w - 1) visit(i + 1);
      if (y > 0) visit(i - w);
      if (y < h - 1) visit(i + w);
    }
    if (comp.length > best.length) best = comp;
  }
  return best;
}

/** Occupancy of the object's bounding box resampled to INNER x INNER inside a GRID x GRID map (4x4 point samples per cell). */
function normalisedOccupancy(pixels: readonly number[], w: number, h: number): Float64Array | null {
  const map = new Float64Array(GRID * GRID);
  if (pixels.length === 0) return null;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (const i of pixels) {
    const x = i % w;
    const y = (i - x) / w;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  if (bw < 3 || bh < 3) return null;
  const inObj = new Uint8Array(w * h);
  for (const i of pixels) inObj[i] = 1;
  const S = 4;
  for (let v = 0; v < INNER; v++) {
    for (let u = 0; u < INNER; u++) {
      let hits = 0;
      for (let sy = 0; sy < S; sy++) {
        const y = y0 + Math.floor(((v + (sy + 0.5) / S) / INNER) * bh);
        for (let sx = 0; sx < S; sx++) {
          const x = x0 + Math.floor(((u + (sx + 0.5) / S) / INNER) * bw);
          hits += inObj[y * w + x]!;
        }
      }
      map[(v + PAD) * GRID + u + PAD] = hits / (S * S);
    }
  }
  return map;
}

function pearson(a: Float64Array, b: Float64Array): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= a.length;
  mb /= b.length;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

let templates: Map<ShapeName, Float64Array> | undefined;
/** Every shape drawn large and centred by the generator's own rasteriser, then normalised like an object. */
function shapeTemplates(): Map<ShapeName, Float64Array> {
  if (templates) return templates;
  templates = new Map();
  const n = 128;
  for (const shape of ShapeName.options) {
    const cov = coverageMap(shape, n, n / 2, n / 2, n / 2 - 4);
    const pixels: number[] = [];
    cov.forEach((c, i) => {
      if (c >= 0.5) pixels.push(i);
    });
    templates.set(shape, normalisedOccupancy(pixels, n, n)!);
  }
  return templates;
}

function emptyScores(): Record<ShapeName, number> {
  return Object.fromEntries(ShapeName.options.map((s) => [s, 0])) as Record<ShapeName, number>;
}

/** Classifies packed RGB pixels (any size; the demo uses 64x64). */
export function evaluateRgb(rgb: Uint8Array, width: number, height: number): Evaluation {
  if (rgb.length !== width * height * 3)
    throw new Error(`expected ${width * height * 3} RGB bytes, got ${rgb.length}`);
  const bg = estimateBackground(rgb, width, height);
  const n = width * height;
  const mask = new Uint8Array(n);
  const fg2 = FOREGROUND_DISTANCE * FOREGROUND_DISTANCE;
  let yellow = 0;
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3]!;
    const g = rgb[i * 3 + 1]!;
    const b = rgb[i * 3 + 2]!;
    let far = 1;
    for (const m of bg.means) {
      if ((r - m[0]) ** 2 + (g - m[1]) ** 2 + (b - m[2]) ** 2 <= fg2) far = 0;
    }
    mask[i] = far;
    if (isStarYellow(r, g, b)) yellow++;
  }
  const object = largestComponent(mask, width, height);
  const occupancy = normalisedOccupancy(object, width, height);
  const scores = emptyScores();
  let shape: ShapeName | null = null;
  let color: ColorName | null = null;
  if (occupancy) {
    let best = Number.NEGATIVE_INFINITY;
    for (const [name, t] of shapeTemplates()) {
      scores[name] = pearson(occupancy, t);
      if (scores[name] > best) {
        best = scores[name];
        shape = name;
      }
    }
    color = voteColor(rgb, object, width, height);
  }
  return {
    width,
    height,
    background: bg.names,
    objectFraction: object.length / n,
    color,
    shape,
    shapeScores: scores,
    starYellowFraction: yellow / n,
    starCorrelation: scores.star,
  };
}

function voteColor(rgb: Uint8Array, object: readonly number[], w: number, h: number): ColorName {
  const inObj = new Uint8Array(w * h);
  for (const i of object) inObj[i] = 1;
  const interior = object.filter((i) => {
    const x = i % w;
    const y = (i - x) / w;
    return (
      x > 0 && x < w - 1 && y > 0 && y < h - 1 && inObj[i - 1] && inObj[i + 1] && inObj[i - w] && inObj[i + w]
    );
  });
  const voters = interior.length > 0 ? interior : object;
  const votes = new Map<ColorName, number>();
  for (const i of voters) {
    const { name } = nearestColor(pixel(rgb, i), SHAPE_COLORS);
    votes.set(name, (votes.get(name) ?? 0) + 1);
  }
  return [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
}

/** Decodes an image file or buffer (any format sharp reads), flattens alpha, and classifies it at 64x64. */
export async function evaluateImage(input: string | Buffer, size = 64): Promise<Evaluation> {
  const { data, info } = await sharp(input)
    .flatten({ background: '#000000' })
    .resize(size, size, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return evaluateRgb(new Uint8Array(data.buffer, data.byteOffset, data.length), info.width, info.height);
}
