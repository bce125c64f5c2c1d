import { SEMVER_RE } from './registry.ts';

export type Semver = { major: number; minor: number; patch: number };

export function parseSemver(version: string): Semver | undefined {
  const m = SEMVER_RE.exec(version);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
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
