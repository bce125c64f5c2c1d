import { mkdir } from 'node:fs/promises';
import type { RootKind, Roots } from '../../server/fs/roots.ts';

/** Resolves (and creates) a folder inside a root; throws a clear error naming the node and field. */
export async function ensureDir(
  roots: Roots,
  kind: RootKind,
  folder: string,
  where: string,
): Promise<{ path: string; root: string; rel: string }> {
  const r = roots.resolve(kind, folder === '' ? '.' : folder);
  if (!r.ok) throw new Error(`${where}: ${r.reason}`);
  await mkdir(r.path, { recursive: true });
  // Re-check after creating: a folder created through a symlink must still be inside the root.
  const again = roots.resolve(kind, r.path);
  if (!again.ok || !again.exists)
    throw new Error(`${where}: ${again.ok ? 'folder could not be created' : again.reason}`);
  return { path: again.path, root: again.root, rel: again.rel };
}
