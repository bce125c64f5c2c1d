import { z } from 'zod';

/** Values that flow along links. They are JSON: bulk data lives in the artifact store, referenced by sha256. */

export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

export const ImageItem = z.object({
  /** sha256 of the image bytes in the artifact store. */
  hash: Sha256,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  format: z.string().optional(),
  caption: z.string().default(''),
  repeats: z.number().int().min(1).default(1),
  /** kohya folder facts, when the image came from a `10_name class` folder. */
  instance: z.string().optional(),
  className: z.string().optional(),
  /** Path relative to its dataset root, for display and export. */
  source: z.string().optional(),
  regularization: z.boolean().default(false),
  /** Original size and crop, kept for SDXL size conditioning and for statistics. */
  original: z.object({ width: z.number().int(), height: z.number().int() }).optional(),
  crop: z.object({ left: z.number().int(), top: z.number().int() }).optional(),
  hasAlphaMask: z.boolean().optional(),
});
export type ImageItem = z.infer<typeof ImageItem>;

export const ImagesValue = z.object({
  kind: z.literal('images'),
  items: z.array(ImageItem),
});
export type ImagesValue = z.infer<typeof ImagesValue>;

export const ModelArch = z.enum(['sd1', 'sd2', 'sd2-v', 'sdxl']);
export type ModelArch = z.infer<typeof ModelArch>;

export const ModelValue = z.object({
  kind: z.literal('model'),
  /** Absolute path of the checkpoint file or diffusers folder (inside a configured model root). */
  path: z.string(),
  sha256: Sha256,
  arch: ModelArch,
  config: z.record(z.string(), z.unknown()),
});
export type ModelValue = z.infer<typeof ModelValue>;

export const LoraValue = z.object({
  kind: z.literal('lora'),
  /** sha256 of the LoRA .safetensors bytes in the artifact store. */
  hash: Sha256,
  /** Where the file lives on disk when it came from (or was saved to) a root. */
  path: z.string().optional(),
  name: z.string(),
  metadata: z.record(z.string(), z.string()).default({}),
});
export type LoraValue = z.infer<typeof LoraValue>;

export const PromptsValue = z.object({
  kind: z.literal('prompts'),
  prompts: z.array(z.string()),
});
export type PromptsValue = z.infer<typeof PromptsValue>;

export const SocketValue = z.discriminatedUnion('kind', [ImagesValue, ModelValue, LoraValue, PromptsValue]);
export type SocketValue = z.infer<typeof SocketValue>;

/** The value schema for each socket type, used to validate what a node returns. */
export const socketValueSchemas = {
  IMAGES: ImagesValue,
  MODEL: ModelValue,
  LORA: LoraValue,
  PROMPTS: PromptsValue,
  ANY: SocketValue,
} as const;
