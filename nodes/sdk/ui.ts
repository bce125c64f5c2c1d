import { z } from 'zod';

/**
 * UI hints attached to a param's zod schema with `.meta({ ui: {...} })`. They travel to the editor inside
 * the param's JSON Schema, so the schema stays the single source of truth for widgets.
 */
export const UiHint = z.object({
  widget: z
    .enum(['slider', 'multiline', 'text', 'file', 'folder', 'model', 'lora', 'color', 'seed'])
    .optional(),
  group: z.enum(['basic', 'advanced']).default('basic'),
  step: z.number().positive().optional(),
  /** Which configured root a file/folder/model picker browses. */
  root: z.enum(['dataset', 'model', 'output']).optional(),
  /** File extensions a file picker offers, e.g. ['.safetensors']. */
  extensions: z.array(z.string()).optional(),
  placeholder: z.string().optional(),
});
export type UiHint = z.input<typeof UiHint>;

/** Attach UI hints to a param schema: `ui(z.number().min(1).max(64), { widget: 'slider', step: 1 })`. */
export function ui<T extends z.ZodType>(schema: T, hint: UiHint): T {
  return schema.meta({ ui: UiHint.parse(hint) }) as T;
}
