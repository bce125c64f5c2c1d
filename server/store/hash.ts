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

/** Every `hash` field holding a sha256, anywhere in a JSON value: the artifacts the value references. */
export function collectArtifactHashes(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectArtifactHashes(v, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'hash' && typeof v === 'string' && SHA256_RE.test(v)) into.add(v);
      else if (typeof v === 'object' && v !== null) collectArtifactHashes(v, into);
    }
  }
  return into;
}
