import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const SHA256_RE = /^[0-9a-f]{64}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of several parts, each length-prefixed so that ('ab','c') and ('a','bc') differ. */
export function sha256Parts(parts: readonly string[]): string {
  let joined = '';
  for (const p of parts) joined += `${p.length}:${p}`;
  return createHash('sha256').update(joined).digest('hex');
}

export async function sha256File(path: string): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    size += buf.length;
    h.update(buf);
  }
  return { hash: h.digest('hex'), size };
}

/**
 * Every sha256-looking string anywhere in a JSON value (`hash`, `thumb`, … fields, array elements): the
 * artifacts the value may reference. Callers that need certainty filter by what the store holds, since a
 * value may also carry hashes of things outside the store (e.g. a checkpoint's sha256).
 */
export function collectArtifactHashes(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') {
    if (value.length === 64 && SHA256_RE.test(value)) into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectArtifactHashes(v, into);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) collectArtifactHashes(v, into);
  }
  return into;
}
