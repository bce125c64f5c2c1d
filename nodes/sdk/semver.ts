import { SEMVER_RE } from './registry.ts';

export type Semver = { major: number; minor: number; patch: number };

const parsed = new Map<string, Semver | undefined>();

export function parseSemver(version: string): Semver | undefined {
  if (parsed.has(version)) return parsed.get(version);
  const m = SEMVER_RE.exec(version);
  const v = m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
  // Versions in use are few; the bound only guards against a flood of distinct strings.
  if (parsed.size < 10_000) parsed.set(version, v);
  return v;
}

/**
 * How params saved with `saved` relate to a definition at `current`: same major is compatible; an older
 * major needs the node's `migrate`; a newer major cannot be read.
 */
export type VersionRelation = 'compatible' | 'older-major' | 'newer-major' | 'invalid';

export function relateVersions(saved: string, current: string): VersionRelation {
  const s = parseSemver(saved);
  const c = parseSemver(current);
  if (!s || !c) return 'invalid';
  if (s.major === c.major) return 'compatible';
  return s.major < c.major ? 'older-major' : 'newer-major';
}
