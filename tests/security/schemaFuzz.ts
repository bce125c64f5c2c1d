import fc from 'fast-check';
import type { z } from 'zod';

/** The field names of a zod object schema (pipes and refinements unwrapped). */
export function shapeKeys(schema: z.ZodType): string[] {
  const s = schema as unknown as {
    shape?: Record<string, unknown>;
    def?: { in?: z.ZodType; schema?: z.ZodType };
  };
  if (s.shape) return Object.keys(s.shape);
  const inner = s.def?.in ?? s.def?.schema;
  return inner ? shapeKeys(inner) : [];
}

/** Values that commonly break parsers: wrong types, huge numbers, deep nesting, prototype keys. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    -1,
    1e308,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    'x'.repeat(10_000),
    '../../etc/passwd',
    '\u0000',
    { __proto__: { polluted: true } },
    JSON.parse('{"__proto__":{"polluted":true}}'),
    [[[[[[[[[[[]]]]]]]]]]],
  ),
);

/**
 * Objects near `valid`, driven by the schema's fields: some fields dropped, some replaced with hostile values,
 * sometimes an unknown field added. Checks both that strict schemas refuse extras and that every field's
 * validation holds.
 */
export function nearValid(
  schema: z.ZodType,
  valid: Record<string, unknown>,
): fc.Arbitrary<Record<string, unknown>> {
  const keys = shapeKeys(schema);
  if (keys.length === 0) throw new Error('nearValid needs an object schema');
  return fc
    .tuple(
      fc.subarray(keys),
      fc.dictionary(fc.constantFrom(...keys), nasty, { maxKeys: 3 }),
      fc.option(fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor'), nasty), { nil: undefined }),
    )
    .map(([dropped, replaced, extra]) => {
      const out: Record<string, unknown> = { ...valid };
      for (const k of dropped) delete out[k];
      for (const [k, v] of Object.entries(replaced)) out[k] = v;
      if (extra)
        Object.defineProperty(out, extra[0], {
          value: extra[1],
          enumerable: true,
          configurable: true,
          writable: true,
        });
      return out;
    });
}
