import { Background, BackgroundVariant, type ReactFlowState, useStore } from '@xyflow/react';

const GAP = 20;
/** The closest the dots may get on screen: a denser pattern is invisible but costly to paint. */
const MIN_SCREEN_GAP = 8;

/** Power of two by which the grid is coarsened at the current zoom. Changes only at thresholds. */
export function gridScale(zoom: number): number {
  let k = 1;
  while (GAP * k * zoom < MIN_SCREEN_GAP && k < 1024) k *= 2;
  return k;
}

const selectGridScale = (s: ReactFlowState) => gridScale(s.transform[2]);

/**
 * The canvas's dot grid. Zoomed out, the spacing doubles as often as needed to stay at least
 * MIN_SCREEN_GAP px apart: at the 0.1 zoom of a fitted 300-node graph a fixed 20-unit grid would put
 * a dot every 2 px, which the browser repaints on every pan frame.
 */
export function DotGrid() {
  const k = useStore(selectGridScale);
  return <Background variant={BackgroundVariant.Dots} gap={GAP * k} size={k} />;
}
