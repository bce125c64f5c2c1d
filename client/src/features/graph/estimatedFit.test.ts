import { describe, expect, it } from 'vitest';
import { gridScale } from './DotGrid.tsx';
import { estimatedFit, FIT_OPTIONS, UNMEASURED_NODE } from './estimatedFit.ts';
import type { FlowNode } from './types.ts';

const node = (id: string, x: number, y: number, measured?: { width: number; height: number }): FlowNode => ({
  id,
  type: 'workflow',
  position: { x, y },
  data: { type: 'test/add', version: '1.0.0', params: {} },
  ...(measured ? { measured } : {}),
});

describe('estimatedFit', () => {
  it('fits the nodes, sized by measurement or the unmeasured estimate, into the pane', () => {
    const nodes = [node('1', 0, 0), node('2', 8740, 2340)];
    const vp = estimatedFit(nodes, 1090, 678)!;
    const width = 8740 + UNMEASURED_NODE.width;
    const height = 2340 + UNMEASURED_NODE.height;
    // The whole bounding box is on screen, with the padding, and the zoom is limited by the wider side.
    expect(vp.zoom).toBeCloseTo(1090 / (width * (1 + FIT_OPTIONS.padding)), 3);
    expect(vp.x).toBeGreaterThanOrEqual(0);
    expect(vp.x + width * vp.zoom).toBeLessThanOrEqual(1090);
    expect(vp.y).toBeGreaterThan(0);
    expect(vp.y + height * vp.zoom).toBeLessThan(678);
  });

  it('uses measured sizes and clamps the zoom to the fit range', () => {
    const one = estimatedFit([node('1', 100, 50, { width: 200, height: 100 })], 1000, 800)!;
    expect(one.zoom).toBe(FIT_OPTIONS.maxZoom);
    // Centred: the node's middle (200, 100) lands on the pane's middle.
    expect(one.x + 200 * one.zoom).toBeCloseTo(500);
    expect(one.y + 100 * one.zoom).toBeCloseTo(400);
    const far = estimatedFit([node('1', 0, 0), node('2', 1e6, 0)], 1000, 800)!;
    expect(far.zoom).toBe(FIT_OPTIONS.minZoom);
  });

  it('has nothing to fit for an empty graph or a pane without size', () => {
    expect(estimatedFit([], 1000, 800)).toBeNull();
    expect(estimatedFit([node('1', 0, 0)], 0, 800)).toBeNull();
  });
});

describe('dot grid level of detail', () => {
  it('keeps the 20-unit grid down to 0.4 zoom, then doubles its spacing to stay 8 px apart on screen', () => {
    expect(gridScale(2)).toBe(1);
    expect(gridScale(0.4)).toBe(1);
    expect(gridScale(0.3)).toBe(2);
    expect(gridScale(0.105)).toBe(4);
    for (const z of [0.1, 0.13, 0.2, 0.33, 0.5, 1]) {
      expect(20 * gridScale(z) * z).toBeGreaterThanOrEqual(8);
      expect(20 * (gridScale(z) / 2) * z).toBeLessThan(gridScale(z) > 1 ? 8 : Number.POSITIVE_INFINITY);
    }
  });
});
