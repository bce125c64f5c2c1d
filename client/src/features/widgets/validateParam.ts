import type { JsonSchema } from '../../api/jsonSchema.ts';
import { numberOrKeyword, unwrapNullable } from './schemaToWidget.ts';

/**
 * A JSON-Schema-lite check of one param value, for marking widgets inline before the server validates:
 * type, integer, minimum/maximum (exclusive too), enum, string length and pattern, and numbers that may also be
 * one word ("auto"). Returns a message or null.
 */
export function validateParam(raw: JsonSchema, value: unknown, required = false): string | null {
  const { schema, nullable } = unwrapNullable(raw);
  if (value === undefined || value === null) {
    if (value === null && nullable) return null;
    if (value === undefined && !required) return null;
    return 'A value is required';
  }
  const keyword = numberOrKeyword(schema);
  if (keyword) {
    if (value === keyword.keyword) return null;
    if (typeof value !== 'number') return `Expected a number or "${keyword.keyword}"`;
    return validateParam(keyword.number, value);
  }
  if (schema.enum && !schema.enum.some((v) => v === value)) {
    return `Must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 0 && !types.some((t) => matchesType(t, value))) {
    return `Expected ${types.filter((t) => t !== 'null').join(' or ')}`;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'Must be a finite number';
    if (schema.minimum !== undefined && value < schema.minimum) return `Must be at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `Must be at most ${schema.maximum}`;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
      return `Must be greater than ${schema.exclusiveMinimum}`;
    }
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
      return `Must be less than ${schema.exclusiveMaximum}`;
    }
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      return schema.minLength === 1 ? 'Must not be empty' : `Needs at least ${schema.minLength} characters`;
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return `At most ${schema.maxLength} characters`;
    }
    if (schema.pattern !== undefined) {
      try {
        if (!new RegExp(schema.pattern, 'u').test(value)) return `Must match ${schema.pattern}`;
      } catch {
        // A pattern this browser cannot compile is left to the server.
      }
    }
  }
  return null;
}

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return true;
  }
}
