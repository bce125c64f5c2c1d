import { z } from 'zod';

/**
 * The subset of JSON Schema (draft 2020-12, as produced by zod's `z.toJSONSchema`) that the editor reads to
 * build widgets. Unknown keywords pass through untouched.
 */
export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  ui?: unknown;
  [keyword: string]: unknown;
};

export const JsonSchemaLike: z.ZodType<JsonSchema> = z.looseObject({}) as unknown as z.ZodType<JsonSchema>;
