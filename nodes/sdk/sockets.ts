import { z } from 'zod';

/** The socket types nodes exchange. Colours follow ComfyUI's conventions where one exists. */
export const socketTypes = {
  IMAGES: { color: '#64b5f6', description: 'A set of images (artifact refs with size, caption, repeats)' },
  MODEL: { color: '#b39ddb', description: 'A base Stable Diffusion checkpoint, validated by the engine' },
  LORA: { color: '#9ccc65', description: 'A LoRA file (ours or kohya-format)' },
  PROMPTS: { color: '#ffb74d', description: 'One or more text prompts' },
  ANY: { color: '#9e9e9e', description: 'Accepts any socket type' },
} as const;

export const SocketTypeId = z.enum(
  Object.keys(socketTypes) as [keyof typeof socketTypes, ...(keyof typeof socketTypes)[]],
);
export type SocketTypeId = z.infer<typeof SocketTypeId>;

export const InputSocketSpec = z.object({
  type: SocketTypeId,
  /** Optional inputs may be left unconnected. */
  optional: z.boolean().default(false),
  /** List inputs accept several links; `run()` receives an array. */
  list: z.boolean().default(false),
  label: z.string().optional(),
  description: z.string().optional(),
});
export type InputSocketSpec = z.input<typeof InputSocketSpec>;

export const OutputSocketSpec = z.object({
  type: SocketTypeId,
  label: z.string().optional(),
  description: z.string().optional(),
});
export type OutputSocketSpec = z.input<typeof OutputSocketSpec>;

export type Compatibility = { ok: true } | { ok: false; reason: string };

/**
 * The single connection rule, shared by the server's validator and the editor's isValidConnection.
 * An output of type T connects to an input of type T or ANY; an ANY output connects to anything.
 */
export function canConnect(from: { type: string }, to: { type: string; list?: boolean }): Compatibility {
  if (!(from.type in socketTypes)) return { ok: false, reason: `unknown output socket type ${from.type}` };
  if (!(to.type in socketTypes)) return { ok: false, reason: `unknown input socket type ${to.type}` };
  if (from.type === to.type || to.type === 'ANY' || from.type === 'ANY') return { ok: true };
  return { ok: false, reason: `${from.type} output cannot connect to a ${to.type} input` };
}
