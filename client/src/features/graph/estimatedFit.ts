import { getViewportForBounds, type Viewport } from '@xyflow/react';
import type { FlowNode } from './types.ts';

/** Typical size of a node before it has been measured (the widths a node's CSS allows, a short body). */
export const UNMEASURED_NODE = { width: 260, height: 160 };

export const FIT_OPTIONS = { padding: 0.15, minZoom: 0.1, maxZoom: 1 } as const;

/**
 * The viewport that fits `nodes` into a `width`×`height` pane, from their positions and measured sizes (or
 * `UNMEASURED_NODE`). Set before a freshly loaded graph first renders, so its nodes mount at the zoom and
 * level of detail they will be shown at, instead of mounting full widgets at zoom 1 and dropping them on
 * the exact fit that follows measurement. Null for an empty graph or pane.
 */
export function estimatedFit(nodes: readonly FlowNode[], width: number, height: number): Viewport | null {
  if (nodes.length === 0 || width <= 0 || height <= 0) return null;
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const n of nodes) {
    const w = n.measured?.width ?? n.width ?? UNMEASURED_NODE.width;
    const h = n.measured?.height ?? n.height ?? UNMEASURED_NODE.height;
    minX = Math.min(minX, n.position.x);
    minY = Math.min(minY, n.position.y);
    maxX = Math.max(maxX, n.position.x + w);
    maxY = Math.max(maxY, n.position.y + h);
  }
  return getViewportForBounds(
    { x: minX, y: minY, width: maxX - minX, height: maxY - minY },
    width,
    height,
    FIT_OPTIONS.minZoom,
    FIT_OPTIONS.maxZoom,
    FIT_OPTIONS.padding,
  );
}
