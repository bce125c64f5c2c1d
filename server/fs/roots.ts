import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export type RootKind = 'dataset' | 'model' | 'output';
export const ROOT_KINDS: readonly RootKind[] = ['dataset', 'model', 'output'];

/** The `roots` section of the server config (every path absolute). */
export interface RootsConfig {
  dataset: string[];
  model: string[];
  output: string;
}

export type ResolveResult =
  | {
      ok: true;
      /** Absolute path with every existing component's symlinks resolved. */
      path: string;
      /** The (real) root the path lies in. */
      root: string;
      /** Path relative to that root, `/`-separated, `''` for the root itself. */
      rel: string;
      exists: boolean;
    }
  | { ok: false; reason: string };

export interface DirEntry {
  name: string;
  /** Path relative to its root, `/`-separated: pass it back as a path param. */
  path: string;
  type: 'dir' | 'file';
  size: number;
  mtimeMs: number;
}

export type ListResult =
  | { ok: true; path: string; entries: DirEntry[] }
  | { ok: false; reason: string; status: 403 | 404 };

function isInside(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  const withSep = root.endsWith(sep) ? root : root + sep;
  return candidate.startsWith(withSep);
}

/** Resolves symlinks of the deepest existing ancestor; the non-existing tail is appended unchanged. */
function realpathOfExistingPrefix(abs: string): { path: string; exists: boolean } {
  let current = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      const real = realpathSync(current);
      return { path: tail.length ? join(real, ...tail.reverse()) : real, exists: tail.length === 0 };
    } catch {
      const parent = dirname(current);
      if (parent === current) return { path: abs, exists: false };
      tail.push(basename(current));
      current = parent;
    }
  }
}

/** Checks the shape of a user-supplied path before touching the filesystem. */
export function checkPathSyntax(userPath: string): { ok: true } | { ok: false; reason: string } {
  if (typeof userPath !== 'string') return { ok: false, reason: 'path must be a string' };
  if (userPath.includes('\0')) return { ok: false, reason: 'path contains a NUL byte' };
  if (userPath.includes('\\'))
    return { ok: false, reason: `path "${userPath}" uses a backslash; use "/" as the separator` };
  if (/^[a-zA-Z]:/.test(userPath))
    return {
      ok: false,
      reason: `path "${userPath}" looks like a Windows drive path; use a path inside a root`,
    };
  if (userPath.split('/').some((part) => part === '..'))
    return { ok: false, reason: `path "${userPath}" contains "..", which is not allowed` };
  return { ok: true };
}

/**
 * The configured dataset, model and output roots. Every path a node or a route receives from a user goes
 * through `resolve`, which refuses NUL bytes, backslashes, `..` segments, absolute paths outside the roots and
 * symlinks that lead out of them.
 *
 * Relative paths are tried against each root of the kind in order; the first root where the path exists wins,
 * otherwise the first root is used (so outputs can be created).
 */
export class Roots {
  readonly #roots: Record<RootKind, string[]>;

  constructor(config: RootsConfig) {
    const real = (p: string, kind: RootKind): string => {
      if (!isAbsolute(p)) throw new Error(`${kind} root "${p}" must be an absolute path`);
      if (kind === 'output' && !existsSync(p)) mkdirSync(p, { recursive: true });
      return existsSync(p) ? realpathSync(p) : resolve(p);
    };
    this.#roots = {
      dataset: config.dataset.map((p) => real(p, 'dataset')),
      model: config.model.map((p) => real(p, 'model')),
      output: [real(config.output, 'output')],
    };
  }

  /** The absolute (real) root folders of a kind. */
  rootsOf(kind: RootKind): readonly string[] {
    return this.#roots[kind];
  }

  resolve(kind: RootKind, userPath: string): ResolveResult {
    const roots = this.#roots[kind];
    if (!roots) return { ok: false, reason: `unknown root kind "${String(kind)}"` };
    if (roots.length === 0) return { ok: false, reason: `no ${kind} root is configured` };
    const syntax = checkPathSyntax(userPath);
    if (!syntax.ok) return syntax;

    if (isAbsolute(userPath)) {
      const real = realpathOfExistingPrefix(resolve(userPath));
      const root = roots.find((r) => isInside(r, real.path));
      if (!root) return { ok: false, reason: `path "${userPath}" is outside the configured ${kind} roots` };
      return { ok: true, path: real.path, root, rel: toRel(root, real.path), exists: real.exists };
    }

    let fallback: ResolveResult | undefined;
    for (const root of roots) {
      const real = realpathOfExistingPrefix(resolve(root, userPath));
      if (!isInside(root, real.path)) {
        return { ok: false, reason: `path "${userPath}" leads outside the ${kind} root (through a symlink)` };
      }
      const result: ResolveResult = {
        ok: true,
        path: real.path,
        root,
        rel: toRel(root, real.path),
        exists: real.exists,
      };
      if (real.exists) return result;
      fallback ??= result;
    }
    return fallback!;
  }

  /**
   * Lists a folder inside the roots of a kind. Symlinks are followed only when they stay inside the root; dot
   * files are hidden. With several roots, the top level (`''`) merges every root's entries.
   */
  async list(kind: RootKind, relDir: string): Promise<ListResult> {
    const roots = this.#roots[kind];
    if (!roots) return { ok: false, reason: `unknown root kind "${String(kind)}"`, status: 403 };
    const dirs: { root: string; dir: string }[] = [];
    if (relDir === '' || relDir === '.' || relDir === '/') {
      for (const root of roots) if (existsSync(root)) dirs.push({ root, dir: root });
    } else {
      const r = this.resolve(kind, relDir);
      if (!r.ok) return { ok: false, reason: r.reason, status: 403 };
      if (!r.exists)
        return { ok: false, reason: `folder "${relDir}" does not exist in the ${kind} roots`, status: 404 };
      const st = await stat(r.path);
      if (!st.isDirectory()) return { ok: false, reason: `"${relDir}" is not a folder`, status: 404 };
      dirs.push({ root: r.root, dir: r.path });
    }
    const entries: DirEntry[] = [];
    const seen = new Set<string>();
    for (const { root, dir } of dirs) {
      for (const name of (await readdir(dir)).sort()) {
        if (name.startsWith('.') || seen.has(name)) continue;
        const abs = join(dir, name);
        try {
          const l = await lstat(abs);
          let target = abs;
          if (l.isSymbolicLink()) {
            target = await realpath(abs);
            if (!isInside(root, target)) continue;
          }
          const st = l.isSymbolicLink() ? await stat(target) : l;
          if (!st.isDirectory() && !st.isFile()) continue;
          seen.add(name);
          entries.push({
            name,
            path: toRel(root, abs),
            type: st.isDirectory() ? 'dir' : 'file',
            size: st.isFile() ? st.size : 0,
            mtimeMs: Math.round(st.mtimeMs),
          });
        } catch {
          // A dangling symlink or an entry removed while listing: not listable, skip it.
        }
      }
    }
    entries.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1));
    return { ok: true, path: relDir === '/' || relDir === '.' ? '' : relDir, entries };
  }
}

function toRel(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/** Builds the roots service from the server config's `roots` section (`config.roots`). */
export function createRoots(config: RootsConfig): Roots {
  return new Roots(config);
}

/** Fetches the roots service from a node's context services, or throws a clear error. */
export function rootsFromServices(services: Record<string, unknown>, nodeTitle: string): Roots {
  const roots = services.roots as Roots | undefined;
  if (!roots || typeof roots.resolve !== 'function' || typeof roots.rootsOf !== 'function') {
    throw new Error(
      `${nodeTitle}: the server did not provide configured roots (services.roots); start it through loraflow serve or pass createRoots(config.roots)`,
    );
  }
  return roots;
}
