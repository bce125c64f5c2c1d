import { z } from 'zod';
import { getJson } from '../../api/http.ts';
import type { RootKind } from './schemaToWidget.ts';

/** `GET /api/files` response (see server/fs/filesRouter.ts). */
export const DirEntry = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(['dir', 'file']),
  size: z.number(),
  mtimeMs: z.number(),
});
export type DirEntry = z.infer<typeof DirEntry>;

export const FilesResponse = z.object({ root: z.string(), path: z.string(), entries: z.array(DirEntry) });

export async function listFiles(root: RootKind, path: string): Promise<DirEntry[]> {
  const res = FilesResponse.parse(
    await getJson(`/api/files?root=${encodeURIComponent(root)}&path=${encodeURIComponent(path)}`),
  );
  return res.entries;
}

export function hasExtension(name: string, extensions: readonly string[] | undefined): boolean {
  if (!extensions || extensions.length === 0) return true;
  const lower = name.toLowerCase();
  return extensions.some((e) => lower.endsWith(e.toLowerCase()));
}

/**
 * Model files under the model roots: a breadth-first walk, bounded in depth and folders visited so that a
 * huge tree cannot stall the picker. Diffusers folders (containing model_index.json) count as models.
 */
export async function findModels(
  root: RootKind,
  extensions: readonly string[],
  list: (root: RootKind, path: string) => Promise<DirEntry[]> = listFiles,
  limits = { depth: 4, folders: 200 },
): Promise<string[]> {
  const found: string[] = [];
  let level = [''];
  let visited = 0;
  for (let depth = 0; depth <= limits.depth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (visited >= limits.folders) return found.sort();
      visited += 1;
      let entries: DirEntry[];
      try {
        entries = await list(root, dir);
      } catch {
        continue;
      }
      if (dir !== '' && entries.some((e) => e.type === 'file' && e.name === 'model_index.json')) {
        found.push(dir);
        continue;
      }
      for (const e of entries) {
        if (e.type === 'dir') next.push(e.path);
        else if (hasExtension(e.name, extensions)) found.push(e.path);
      }
    }
    level = next;
  }
  return found.sort();
}
