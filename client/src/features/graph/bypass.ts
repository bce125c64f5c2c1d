import type { NodeDef } from '../../api/nodeDefs.ts';

/**
 * Whether a node can be bypassed: the server passes each output the first input of the same type (or an ANY
 * input), so every output needs such an input. Nodes without outputs (savers, previews) can always be
 * bypassed; they are then simply skipped.
 */
export function canBypass(def: NodeDef): { ok: true } | { ok: false; reason: string } {
  const inputs = Object.values(def.inputs);
  for (const [name, out] of Object.entries(def.outputs)) {
    if (!inputs.some((i) => i.type === out.type || i.type === 'ANY')) {
      return { ok: false, reason: `no ${out.type} input to pass through to the output "${name}"` };
    }
  }
  return { ok: true };
}
