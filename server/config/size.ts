import { z } from 'zod';

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Parses `20GB`, `512 MiB`, `1.5g` or a plain byte count. Units are binary (1 GB = 1024^3 bytes). */
export function parseSize(text: string): { ok: true; bytes: number } | { ok: false; reason: string } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return { ok: false, reason: `"${text}" is not a size; use e.g. 20GB, 512MB or a byte count` };
  const unit = (m[2] ?? '').toLowerCase() || 'b';
  const factor = UNITS[unit];
  if (factor === undefined)
    return { ok: false, reason: `unknown size unit "${m[2]}" in "${text}"; use B, KB, MB, GB or TB` };
  return { ok: true, bytes: Math.floor(Number(m[1]) * factor) };
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A size given either as a byte count or as a string such as "20GB". */
export const SizeSchema = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const r = parseSize(v);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.reason });
    return z.NEVER;
  }
  return r.bytes;
});
