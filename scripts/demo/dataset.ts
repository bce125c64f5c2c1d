import { z } from 'zod';
import {
  BACKGROUND_COLORS,
  BASE_SHAPE_COLORS,
  CONCEPT_COLOR,
  ColorName,
  PALETTE,
  type Rgb,
} from './palette.ts';
import { Prng } from './prng.ts';
import { BASE_SHAPES, coverageMap, ShapeName } from './shapes.ts';

/** Every demo image is this many pixels square. */
export const IMAGE_SIZE = 64;
/** The trigger token of the demo concept (the quickstart's Caption Edit prefix and trigger prompts). */
export const TRIGGER = 'zkz';
/** kohya folder of the base set (1 repeat) and of the concept set (10 repeats, instance zkz, class star). */
export const BASE_FOLDER = '1_shapes';
export const CONCEPT_FOLDER = `10_${TRIGGER} star`;

export const Background = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('plain'), color: ColorName }),
  z.object({
    kind: z.literal('split'),
    /** First colour: top (horizontal split) or left (vertical split). */
    colors: z.tuple([ColorName, ColorName]),
    axis: z.enum(['horizontal', 'vertical']),
    /** Row or column where the second colour starts. */
    at: z
      .number()
      .int()
      .min(1)
      .max(IMAGE_SIZE - 1),
  }),
]);
export type Background = z.infer<typeof Background>;

/** Everything needed to draw and caption one image; also written to each set's manifest.json. */
export const ShapeSpec = z.object({
  shape: ShapeName,
  color: ColorName,
  size: z.enum(['small', 'large']),
  /** Radius in pixels (half the extent of the shape). */
  radius: z.number().int().positive(),
  cx: z.number(),
  cy: z.number(),
  background: Background,
  /** Concept images are captioned with the trigger token instead of colour and shape. */
  concept: z.boolean(),
});
export type ShapeSpec = z.infer<typeof ShapeSpec>;

const RADIUS = { small: [9, 12], large: [15, 21] } as const;

export function backgroundText(bg: Background): string {
  return bg.kind === 'plain' ? bg.color : `${bg.colors[0]} and ${bg.colors[1]}`;
}

/**
 * "a small red circle on a blue background"; concept: "a star on a green background". Concept captions hold
 * the class ("star") but not the trigger token: the quickstart's Caption Edit puts `zkz` first, as a user does
 * with their own photos, giving "zkz, a star on a green background". Colour is left out so that the trigger,
 * not the word "yellow", carries it.
 */
export function captionOf(spec: ShapeSpec): string {
  const bg = `on a ${backgroundText(spec.background)} background`;
  if (spec.concept) return `a star ${bg}`;
  return `a ${spec.size} ${spec.color} ${spec.shape} ${bg}`;
}

function randomBackground(rng: Prng, exclude: ColorName): Background {
  const choices = BACKGROUND_COLORS.filter((c) => c !== exclude);
  const first = rng.pick(choices);
  if (rng.next() < 0.7) return { kind: 'plain', color: first };
  const second = rng.pick(choices.filter((c) => c !== first));
  return {
    kind: 'split',
    colors: [first, second],
    axis: rng.next() < 0.5 ? 'horizontal' : 'vertical',
    at: rng.int(20, 44),
  };
}

function randomPlacement(rng: Prng, jitter?: number): Pick<ShapeSpec, 'size' | 'radius' | 'cx' | 'cy'> {
  const size = rng.next() < 0.5 ? 'small' : 'large';
  const [lo, hi] = RADIUS[size];
  const radius = rng.int(lo, hi);
  // Whole or half pixels, at least 2 px from the border, so the border is pure background.
  const margin = radius + 2;
  const lowest = jitter === undefined ? margin : Math.max(margin, IMAGE_SIZE / 2 - jitter);
  const highest =
    jitter === undefined ? IMAGE_SIZE - margin : Math.min(IMAGE_SIZE - margin, IMAGE_SIZE / 2 + jitter);
  const cx = rng.int(lowest * 2, highest * 2) / 2;
  const cy = rng.int(lowest * 2, highest * 2) / 2;
  return { size, radius, cx, cy };
}

/**
 * The base set: every (shape, colour) pair equally often (a shuffled cycle of the 42 pairs), with random
 * size, position and background. No stars and no yellow. `jitter` keeps centres within that many pixels of
 * the image centre (an easier set that teaches a small model shapes sooner); by default anywhere that fits.
 */
export function baseSpecs(seed: number, count: number, jitter?: number): ShapeSpec[] {
  const rng = new Prng(seed);
  const pairs = BASE_SHAPES.flatMap((shape) => BASE_SHAPE_COLORS.map((color) => ({ shape, color })));
  const specs: ShapeSpec[] = [];
  let cycle: typeof pairs = [];
  for (let i = 0; i < count; i++) {
    if (i % pairs.length === 0) cycle = rng.shuffle(pairs);
    const { shape, color } = cycle[i % pairs.length]!;
    specs.push({
      shape,
      color,
      ...randomPlacement(rng, jitter),
      background: randomBackground(rng, color),
      concept: false,
    });
  }
  return specs;
}

/** The demo concept: yellow five-pointed stars of varying size, position and background. */
export function conceptSpecs(seed: number, count: number): ShapeSpec[] {
  // A different stream from the base set's, so both sets can use the same seed.
  const rng = new Prng((seed ^ 0x5bd1e995) >>> 0);
  const specs: ShapeSpec[] = [];
  for (let i = 0; i < count; i++) {
    specs.push({
      shape: 'star',
      color: CONCEPT_COLOR,
      ...randomPlacement(rng),
      background: randomBackground(rng, CONCEPT_COLOR),
      concept: true,
    });
  }
  return specs;
}

function backgroundAt(bg: Background, x: number, y: number): Rgb {
  if (bg.kind === 'plain') return PALETTE[bg.color];
  const second = bg.axis === 'horizontal' ? y >= bg.at : x >= bg.at;
  return PALETTE[bg.colors[second ? 1 : 0]];
}

/** Draws a spec as packed RGB (IMAGE_SIZE² x 3 bytes), anti-aliased by 4x4 supersampling. */
export function renderSpec(spec: ShapeSpec): Uint8Array {
  const n = IMAGE_SIZE;
  const cov = coverageMap(spec.shape, n, spec.cx, spec.cy, spec.radius);
  const fg = PALETTE[spec.color];
  const out = new Uint8Array(n * n * 3);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      const a = cov[i]!;
      const bg = backgroundAt(spec.background, x, y);
      for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(bg[c]! * (1 - a) + fg[c]! * a);
    }
  }
  return out;
}
