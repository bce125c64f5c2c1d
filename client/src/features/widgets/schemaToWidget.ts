import type { JsonSchema } from '../../api/jsonSchema.ts';
import { type NodeDef, uiHintOf } from '../../api/nodeDefs.ts';

export type RootKind = 'dataset' | 'model' | 'output';

/** What widget a param gets, derived only from its JSON Schema and `ui` hint. */
export type WidgetSpec =
  | {
      kind: 'number';
      integer: boolean;
      min?: number;
      max?: number;
      step?: number;
      slider: boolean;
      /** A word the param also takes instead of a number, e.g. "auto" (the server resolves it). */
      keyword?: string;
    }
  | { kind: 'seed' }
  | { kind: 'select'; options: (string | number)[] }
  | { kind: 'text'; multiline: boolean; placeholder?: string }
  | { kind: 'boolean' }
  | { kind: 'color' }
  | { kind: 'path'; mode: 'file' | 'folder'; root: RootKind; extensions?: string[] }
  | { kind: 'model'; root: RootKind; extensions: string[]; lora: boolean }
  | { kind: 'json' };

export type ParamField = {
  key: string;
  label: string;
  description?: string;
  group: 'basic' | 'advanced';
  required: boolean;
  nullable: boolean;
  schema: JsonSchema;
  spec: WidgetSpec;
};

const MODEL_EXTENSIONS = ['.safetensors', '.ckpt'];

/** The non-null member of `anyOf: [X, {type: 'null'}]` (how zod writes optional/nullable params). */
export function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const alts = schema.anyOf ?? schema.oneOf;
  if (!alts) return { schema, nullable: false };
  const nonNull = alts.filter((s) => s.type !== 'null');
  if (nonNull.length === 1 && nonNull[0]) {
    const { anyOf: _a, oneOf: _o, ...rest } = schema;
    return { schema: { ...nonNull[0], ...rest }, nullable: nonNull.length < alts.length };
  }
  return { schema, nullable: false };
}

/** `anyOf: [{const: 'auto'}, {type: 'integer', …}]`: a number that may also be one word (nodes' `autoOr` params). */
export function numberOrKeyword(schema: JsonSchema): { number: JsonSchema; keyword: string } | undefined {
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts?.length !== 2) return undefined;
  const word = alts.find((s) => typeof s.const === 'string');
  const number = alts.find((s) => s.type === 'number' || s.type === 'integer');
  return word && number ? { number, keyword: word.const as string } : undefined;
}

function numberSpec(schema: JsonSchema, hint: ReturnType<typeof uiHintOf>): WidgetSpec & { kind: 'number' } {
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  const integer = schema.type === 'integer';
  const step = hint.step ?? schema.multipleOf ?? (integer ? 1 : undefined);
  const safe = (v: number | undefined) =>
    v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
  const spec: WidgetSpec & { kind: 'number' } = { kind: 'number', integer, slider: false };
  const lo = safe(min);
  const hi = safe(max);
  if (lo !== undefined) spec.min = lo;
  if (hi !== undefined) spec.max = hi;
  if (step !== undefined) spec.step = step;
  spec.slider = hint.widget === 'slider' && lo !== undefined && hi !== undefined;
  return spec;
}

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null');
  return schema.type;
}

export function widgetFor(raw: JsonSchema): WidgetSpec {
  const { schema } = unwrapNullable(raw);
  const hint = uiHintOf(schema.ui === undefined ? raw : schema);
  const type = typeOf(schema);
  if (schema.enum && schema.enum.length > 0) {
    return {
      kind: 'select',
      options: schema.enum.filter((v) => typeof v === 'string' || typeof v === 'number'),
    };
  }
  switch (hint.widget) {
    case 'file':
      return { kind: 'path', mode: 'file', root: hint.root ?? 'dataset', extensions: hint.extensions };
    case 'folder':
      return { kind: 'path', mode: 'folder', root: hint.root ?? 'dataset' };
    case 'model':
      return {
        kind: 'model',
        root: hint.root ?? 'model',
        extensions: hint.extensions ?? MODEL_EXTENSIONS,
        lora: false,
      };
    case 'lora':
      return {
        kind: 'model',
        root: hint.root ?? 'model',
        extensions: hint.extensions ?? ['.safetensors'],
        lora: true,
      };
    case 'seed':
      return { kind: 'seed' };
    case 'color':
      return { kind: 'color' };
    case 'multiline':
      return { kind: 'text', multiline: true, placeholder: hint.placeholder };
    default:
      break;
  }
  if (type === 'number' || type === 'integer') return numberSpec({ ...schema, type }, hint);
  const keyword = numberOrKeyword(schema);
  if (keyword) return { ...numberSpec(keyword.number, hint), keyword: keyword.keyword };
  if (type === 'boolean') return { kind: 'boolean' };
  if (type === 'string') return { kind: 'text', multiline: false, placeholder: hint.placeholder };
  return { kind: 'json' };
}

function labelOf(key: string, schema: JsonSchema): string {
  if (schema.title) return schema.title;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The widgets of a node type, in declaration order. */
export function paramFields(def: NodeDef): ParamField[] {
  const props = def.params.properties ?? {};
  const required = new Set(def.params.required ?? []);
  return Object.entries(props).map(([key, raw]) => {
    const { schema, nullable } = unwrapNullable(raw);
    const hint = uiHintOf(schema.ui === undefined ? raw : schema);
    const field: ParamField = {
      key,
      label: labelOf(key, schema),
      group: hint.group ?? 'basic',
      required: required.has(key) && raw.default === undefined,
      nullable,
      schema,
      spec: widgetFor(raw),
    };
    const description = schema.description ?? raw.description;
    if (description) field.description = description;
    return field;
  });
}
