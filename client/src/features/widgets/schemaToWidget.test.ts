import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SamplerSettings } from '../../../../nodes/sample/samplerSettings.ts';
import { ui } from '../../../../nodes/sdk/ui.ts';
import { trainParams } from '../../../../nodes/train/trainParams.ts';
import type { JsonSchema } from '../../api/jsonSchema.ts';
import { NodeDef } from '../../api/nodeDefs.ts';
import { paramFields, widgetFor } from './schemaToWidget.ts';
import { validateParam } from './validateParam.ts';

/** Params declared the way node authors declare them, converted exactly as the server does. */
const params = z.object({
  rank: ui(z.number().int().min(1).max(128).default(16), { widget: 'slider', step: 1 }),
  lr: ui(z.number().positive().max(1).default(1e-4), { group: 'advanced' }),
  steps: z.number().int().min(1).default(1000),
  optimizer: z.enum(['adamw', 'adamw8bit', 'prodigy']).default('adamw'),
  prompt: ui(z.string().default(''), { widget: 'multiline', placeholder: 'a photo of sks dog' }),
  name: z.string().min(1).default('lora'),
  flip: z.boolean().default(false),
  folder: ui(z.string().default(''), { widget: 'folder', root: 'dataset' }),
  image: ui(z.string().default(''), { widget: 'file', root: 'dataset', extensions: ['.png'] }),
  checkpoint: ui(z.string().default(''), { widget: 'model' }),
  seed: ui(z.number().int().default(42), { widget: 'seed' }),
  note: z.string().optional(),
  overrides: z.record(z.string(), z.string()).default({}),
});

function def(): NodeDef {
  return NodeDef.parse({
    type: 't/x',
    version: '1.0.0',
    title: 'X',
    params: z.toJSONSchema(params, { io: 'input' }) as JsonSchema,
  });
}

describe('schema → widget mapping', () => {
  it('maps every kind of param to its widget', () => {
    const fields = Object.fromEntries(paramFields(def()).map((f) => [f.key, f]));
    expect(fields.rank!.spec).toEqual({
      kind: 'number',
      integer: true,
      min: 1,
      max: 128,
      step: 1,
      slider: true,
    });
    expect(fields.lr!.spec).toMatchObject({ kind: 'number', integer: false, min: 0, max: 1, slider: false });
    expect(fields.lr!.group).toBe('advanced');
    expect(fields.rank!.group).toBe('basic');
    expect(fields.steps!.spec).toEqual({ kind: 'number', integer: true, min: 1, step: 1, slider: false });
    expect(fields.optimizer!.spec).toEqual({ kind: 'select', options: ['adamw', 'adamw8bit', 'prodigy'] });
    expect(fields.prompt!.spec).toEqual({ kind: 'text', multiline: true, placeholder: 'a photo of sks dog' });
    expect(fields.name!.spec).toMatchObject({ kind: 'text', multiline: false });
    expect(fields.flip!.spec).toEqual({ kind: 'boolean' });
    expect(fields.folder!.spec).toEqual({ kind: 'path', mode: 'folder', root: 'dataset' });
    expect(fields.image!.spec).toEqual({ kind: 'path', mode: 'file', root: 'dataset', extensions: ['.png'] });
    expect(fields.checkpoint!.spec).toEqual({
      kind: 'model',
      root: 'model',
      extensions: ['.safetensors', '.ckpt'],
      lora: false,
    });
    expect(fields.seed!.spec).toEqual({ kind: 'seed' });
    expect(fields.note!.spec).toMatchObject({ kind: 'text' });
    expect(fields.overrides!.spec).toEqual({ kind: 'json' });
    expect(fields.rank!.label).toBe('Rank');
  });

  it('falls back to a plain number field when a slider has no range', () => {
    expect(widgetFor({ type: 'number', ui: { widget: 'slider', group: 'basic' } })).toEqual({
      kind: 'number',
      integer: false,
      slider: false,
    });
  });
});

/** The fields of a real node params schema, converted as the server does. */
function fieldsOf(schema: z.ZodType) {
  const d = NodeDef.parse({
    type: 't/y',
    version: '1.0.0',
    title: 'Y',
    params: z.toJSONSchema(schema, { io: 'input' }),
  });
  return Object.fromEntries(paramFields(d).map((f) => [f.key, f]));
}

describe('sizes that may be "auto" (Sample, Regularization Generate, LoRA Train)', () => {
  const sample = fieldsOf(SamplerSettings);
  const train = fieldsOf(trainParams);

  it('get a number widget with an auto switch, keeping the number range, step and slider', () => {
    expect(sample.width!.spec).toEqual({
      kind: 'number',
      integer: true,
      min: 64,
      max: 2048,
      step: 8,
      slider: true,
      keyword: 'auto',
    });
    expect(sample.width!.required).toBe(false);
    expect(sample.height!.spec).toMatchObject({ kind: 'number', keyword: 'auto' });
    expect(train.resolution!.spec).toEqual({
      kind: 'number',
      integer: true,
      min: 64,
      max: 2048,
      step: 64,
      slider: false,
      keyword: 'auto',
    });
    expect(train.max_bucket_reso!.spec).toMatchObject({ kind: 'number', min: 64, step: 64, keyword: 'auto' });
    expect(train.max_bucket_reso!.group).toBe('advanced');
    expect(sample.width!.description).toMatch(/1024 for SDXL/);
  });

  it('validate "auto" and in-range numbers; other words and out-of-range numbers are marked', () => {
    const w = sample.width!.schema;
    expect(validateParam(w, 'auto')).toBeNull();
    expect(validateParam(w, 512)).toBeNull();
    expect(validateParam(w, 32)).toBe('Must be at least 64');
    expect(validateParam(w, 4096)).toBe('Must be at most 2048');
    expect(validateParam(w, 512.5)).toBe('Expected integer');
    expect(validateParam(w, 'big')).toBe('Expected a number or "auto"');
    expect(validateParam(w, undefined)).toBeNull();
  });

  it('a union that is not one word plus one number keeps the generic widget', () => {
    expect(widgetFor({ anyOf: [{ type: 'string' }, { type: 'integer' }] })).toEqual({ kind: 'json' });
    expect(widgetFor({ anyOf: [{ const: 'a' }, { const: 'b' }] })).toEqual({ kind: 'json' });
  });
});

describe('inline param validation', () => {
  const fields = Object.fromEntries(paramFields(def()).map((f) => [f.key, f]));
  it('checks range, type, integer, enum and length', () => {
    expect(validateParam(fields.rank!.schema, 16)).toBeNull();
    expect(validateParam(fields.rank!.schema, 0)).toBe('Must be at least 1');
    expect(validateParam(fields.rank!.schema, 129)).toBe('Must be at most 128');
    expect(validateParam(fields.rank!.schema, 1.5)).toBe('Expected integer');
    expect(validateParam(fields.lr!.schema, 0)).toBe('Must be greater than 0');
    expect(validateParam(fields.optimizer!.schema, 'sgd')).toMatch(/^Must be one of "adamw"/);
    expect(validateParam(fields.name!.schema, '')).toBe('Must not be empty');
    expect(validateParam(fields.flip!.schema, 'yes')).toBe('Expected boolean');
    expect(validateParam(fields.steps!.schema, undefined, true)).toBe('A value is required');
    expect(validateParam(fields.note!.schema, undefined)).toBeNull();
  });
});
