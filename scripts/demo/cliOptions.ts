// Command-line options of the demo scripts, declared once as a zod object: `--key value` for every key, bare
// `--key` for the boolean ones. Prints each invalid option and exits with status 2.
import { parseArgs } from 'node:util';
import type { z } from 'zod';

export function parseCliOptions<T extends z.ZodObject<z.ZodRawShape>>(
  schema: T,
  booleans: readonly (keyof z.infer<T> & string)[] = [],
): z.infer<T> {
  const options = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [
      k,
      { type: booleans.includes(k) ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  const { values } = parseArgs({ options, strict: true });
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    for (const i of parsed.error.issues) console.error(`--${i.path.join('.')}: ${i.message}`);
    process.exit(2);
  }
  return parsed.data;
}
