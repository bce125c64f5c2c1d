import { z } from 'zod';

/** Shapes of the base set; the five-pointed star is the demo concept and never appears there. */
export const ShapeName = z.enum(['circle', 'square', 'triangle', 'ring', 'cross', 'diamond', 'star']);
export type ShapeName = z.infer<typeof ShapeName>;
export const BASE_SHAPES: readonly ShapeName[] = ['circle', 'square', 'triangle', 'ring', 'cross', 'diamond'];

/** Ratio of the star's inner to outer radius (a regular pentagram is 0.382; a little fatter reads better at 64 px). */
const STAR_INNER = 0.45;
const RING_INNER = 0.55;
const CROSS_HALF_WIDTH = 0.34;
const SQUARE_HALF = 0.85;

type Point = readonly [number, number];

/** Unit polygons (radius 1, centred on 0,0, y down), rounded so every machine computes the same vertices. */
function regularPolygon(radii: readonly number[], count: number, startDeg: number): Point[] {
  const pts: Point[] = [];
  for (let k = 0; k < count; k++) {
    const a = ((startDeg + (360 / count) * k) * Math.PI) / 180;
    const r = radii[k % radii.length]!;
    pts.push([Math.round(r * Math.cos(a) * 1e9) / 1e9, Math.round(r * Math.sin(a) * 1e9) / 1e9]);
  }
  return pts;
}
const STAR_POLY = regularPolygon([1, STAR_INNER], 10, -90);
/** The triangle points up; its centroid is moved down so its bounding box is centred on the shape's centre. */
const TRIANGLE_POLY = regularPolygon([1], 3, -90).map(([x, y]): Point => [x, y + 0.25]);

function insidePolygon(poly: readonly Point[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether the point (u, v), in units of the shape's radius relative to its centre, is inside the shape. */
export function insideUnitShape(shape: ShapeName, u: number, v: number): boolean {
  switch (shape) {
    case 'circle':
      return u * u + v * v <= 1;
    case 'ring': {
      const d = u * u + v * v;
      return d <= 1 && d >= RING_INNER * RING_INNER;
    }
    case 'square':
      return Math.abs(u) <= SQUARE_HALF && Math.abs(v) <= SQUARE_HALF;
    case 'diamond':
      return Math.abs(u) + Math.abs(v) <= 1;
    case 'cross':
      return (
        (Math.abs(u) <= CROSS_HALF_WIDTH && Math.abs(v) <= 1) ||
        (Math.abs(v) <= CROSS_HALF_WIDTH && Math.abs(u) <= 1)
      );
    case 'triangle':
      return insidePolygon(TRIANGLE_POLY, u, v);
    case 'star':
      return insidePolygon(STAR_POLY, u, v);
    default: {
      const never: never = shape;
      throw new Error(`unknown shape ${String(never)}`);
    }
  }
}

/** Supersampling grid per pixel axis: 4x4 = 16 coverage levels of simple anti-aliasing. */
const SS = 4;

/**
 * Coverage (0..1) of each pixel of a `size`x`size` canvas by a shape of radius `radius` centred at (cx, cy)
 * (pixel units, pixel centres at i + 0.5). Pure arithmetic, so identical on every machine.
 */
export function coverageMap(
  shape: ShapeName,
  size: number,
  cx: number,
  cy: number,
  radius: number,
): Float32Array {
  const out = new Float32Array(size * size);
  const x0 = Math.max(0, Math.floor(cx - radius - 1));
  const x1 = Math.min(size - 1, Math.ceil(cx + radius + 1));
  const y0 = Math.max(0, Math.floor(cy - radius - 1));
  const y1 = Math.min(size - 1, Math.ceil(cy + radius + 1));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (let sy = 0; sy < SS; sy++) {
        const v = (y + (sy + 0.5) / SS - cy) / radius;
        for (let sx = 0; sx < SS; sx++) {
          const u = (x + (sx + 0.5) / SS - cx) / radius;
          if (insideUnitShape(shape, u, v)) hits++;
        }
      }
      out[y * size + x] = hits / (SS * SS);
    }
  }
  return out;
}
