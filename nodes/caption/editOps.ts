import { z } from 'zod';
import { joinTags, splitTags } from './tags.ts';

export const FindReplaceRule = z.object({
  find: z.string().min(1, 'find must not be empty'),
  replace: z.string().default(''),
  /** Treat `find` as a JavaScript regular expression (`$1` works in `replace`). */
  regex: z.boolean().default(false),
  /** Regex flags besides `g`, e.g. `i`. */
  flags: z
    .string()
    .regex(/^[imsuy]*$/, 'flags may only contain i, m, s, u, y')
    .default(''),
});
export type FindReplaceRule = z.infer<typeof FindReplaceRule>;

export const CaptionEditOptions = z.object({
  prefix: z.string().default(''),
  suffix: z.string().default(''),
  findReplace: z.array(FindReplaceRule).default([]),
  removeTags: z.array(z.string()).default([]),
  dedupe: z.boolean().default(true),
  lowercase: z.boolean().default(false),
  trim: z.boolean().default(true),
  /** Caption for images that have none (after merging). */
  setIfEmpty: z.string().default(''),
});
export type CaptionEditOptions = z.infer<typeof CaptionEditOptions>;

export type CompiledRule = { rule: FindReplaceRule; pattern: RegExp | string };

/** Compiles find/replace rules, or says which rule is invalid and why. */
export function compileRules(
  rules: readonly FindReplaceRule[],
): { ok: true; rules: CompiledRule[] } | { ok: false; field: string; reason: string } {
  const out: CompiledRule[] = [];
  for (const [i, rule] of rules.entries()) {
    if (!rule.regex) {
      out.push({ rule, pattern: rule.find });
      continue;
    }
    try {
      out.push({ rule, pattern: new RegExp(rule.find, `g${rule.flags}`) });
    } catch (e) {
      return {
        ok: false,
        field: `findReplace[${i}].find`,
        reason: `invalid regular expression ${JSON.stringify(rule.find)}: ${(e as Error).message}`,
      };
    }
  }
  return { ok: true, rules: out };
}

function addToken(tags: string[], token: string, where: 'front' | 'back'): string[] {
  const wanted = splitTags(token);
  if (wanted.length === 0) return tags;
  const lower = new Set(wanted.map((t) => t.toLowerCase()));
  const rest = tags.filter((t) => !lower.has(t.toLowerCase()));
  return where === 'front' ? [...wanted, ...rest] : [...rest, ...wanted];
}

/**
 * Applies the edits to one caption, in this order: set-if-empty, find/replace (whole caption), tag clean-up
 * (trim, lowercase, remove, dedupe), then the prefix first and the suffix last. A prefix that is already in
 * the caption is moved to the front rather than repeated, so re-running never stacks trigger tokens.
 */
export function editCaption(
  caption: string,
  opts: CaptionEditOptions,
  rules: readonly CompiledRule[],
): string {
  let text = caption;
  if (text.trim() === '' && opts.setIfEmpty) text = opts.setIfEmpty;
  for (const { rule, pattern } of rules) {
    text =
      typeof pattern === 'string'
        ? text.split(pattern).join(rule.replace)
        : text.replace(pattern, rule.replace);
  }
  const tagOps =
    opts.trim || opts.lowercase || opts.dedupe || opts.removeTags.length > 0 || opts.prefix || opts.suffix;
  if (!tagOps) return text;

  let tags = splitTags(text);
  if (opts.trim) tags = tags.map((t) => t.replace(/\s+/g, ' '));
  if (opts.lowercase) tags = tags.map((t) => t.toLowerCase());
  if (opts.removeTags.length > 0) {
    const remove = new Set(opts.removeTags.map((t) => t.trim().toLowerCase()).filter(Boolean));
    tags = tags.filter((t) => !remove.has(t.toLowerCase()));
  }
  if (opts.dedupe) {
    const seen = new Set<string>();
    tags = tags.filter((t) => {
      const k = t.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  tags = addToken(tags, opts.suffix, 'back');
  tags = addToken(tags, opts.prefix, 'front');
  return joinTags(tags);
}

/** Merges a sentence caption (e.g. BLIP) with a tag caption (e.g. WD14): sentence first, then tags. */
export function mergeCaptions(first: string, second: string): string {
  const a = first.trim();
  const b = second.trim();
  if (!a) return b;
  if (!b) return a;
  return `${a}, ${b}`;
}
