import { sha256Hex, sha256Parts } from '../store/hash.ts';
import { canonicalJson } from '../workflow/canonicalJson.ts';

/** Content hash of a value flowing on a link: sha256 of its canonical JSON. */
export function valueHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * A node's cache key: sha256 over its type, its definition's version, its canonical params (defaults
 * applied) and the hashes of its input values (per input name, in link order for list inputs).
 */
export function nodeCacheKey(k: {
  type: string;
  version: string;
  params: unknown;
  inputs: Record<string, readonly string[]>;
}): string {
  return sha256Parts([k.type, k.version, canonicalJson(k.params), canonicalJson(k.inputs)]);
}
