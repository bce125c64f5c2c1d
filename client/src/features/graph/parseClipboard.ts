import { z } from 'zod';
import { fromDocument } from '../workflows/document.ts';
import type { ClipboardData } from './clipboard.ts';
import type { FlowEdge, FlowNode } from './types.ts';

const Position = z.object({ x: z.number().finite(), y: z.number().finite() });
const ClipNode = z.looseObject({
  id: z.string(),
  type: z.enum(['workflow', 'group']),
  position: Position,
  data: z.record(z.string(), z.unknown()),
});
const ClipEdge = z.looseObject({
  id: z.string(),
  source: z.string(),
  target: z.string(),
  sourceHandle: z.string().nullable().optional(),
  targetHandle: z.string().nullable().optional(),
});
const Clipboard = z.object({
  format: z.literal('loraflow.clipboard'),
  nodes: z.array(ClipNode).min(1),
  edges: z.array(ClipEdge),
});

/**
 * Reads pasted text: nodes copied in another editor tab (`loraflow.clipboard`), or a whole workflow
 * document, whose nodes are pasted into the open workflow. Anything else gives null.
 */
export function parseClipboard(text: string): ClipboardData | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const clip = Clipboard.safeParse(raw);
  if (clip.success) {
    const ids = new Set(clip.data.nodes.map((n) => n.id));
    return {
      format: 'loraflow.clipboard',
      nodes: clip.data.nodes as unknown as FlowNode[],
      edges: clip.data.edges.filter((e) => ids.has(e.source) && ids.has(e.target)) as FlowEdge[],
    };
  }
  if (raw && typeof raw === 'object' && (raw as { format?: unknown }).format === 'loraflow.workflow') {
    const g = fromDocument(raw);
    if (g.ok && g.nodes.length > 0) return { format: 'loraflow.clipboard', nodes: g.nodes, edges: g.edges };
  }
  return null;
}
