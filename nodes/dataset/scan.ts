import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif'] as const;
/** Files that live next to kohya datasets and are not images: never reported as bad files. */
const COMPANION_EXTENSIONS = new Set(['.txt', '.caption', '.npz', '.json', '.toml', '.yaml', '.yml', '.md']);

export type ScannedFile = { abs: string; rel: string; dir: string };

export type ScanResult = {
  images: ScannedFile[];
  /** Files that are neither images nor dataset companions (captions, latents, configs). */
  nonImages: string[];
  /** Folders (relative to the scanned folder, `''` for itself) that directly contain images. */
  imageDirs: string[];
};

/**
 * Lists images under `dir`. Without `recursive` it reads `dir` and its immediate subfolders (kohya's layout:
 * a parent folder of `N_name` folders); with it, every depth. Dot files and symlinks that leave `isAllowed`
 * are skipped. Sorted by relative path so the output order is stable.
 */
export async function scanImages(
  dir: string,
  options: { recursive: boolean; isAllowed: (abs: string) => boolean; signal?: AbortSignal },
): Promise<ScanResult> {
  const images: ScannedFile[] = [];
  const nonImages: string[] = [];
  const imageDirs = new Set<string>();
  const visited = new Set<string>();

  const walk = async (current: string, depth: number): Promise<void> => {
    options.signal?.throwIfAborted();
    const real = await realpath(current);
    if (visited.has(real)) return;
    visited.add(real);
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const abs = join(current, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(abs);
        } catch {
          continue;
        }
        if (!options.isAllowed(target)) continue;
        const st = await stat(target);
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      const rel = relative(dir, abs).split(sep).join('/');
      if (isDir) {
        if (options.recursive || depth === 0) await walk(abs, depth + 1);
      } else if (isFile) {
        const ext = extname(e.name).toLowerCase();
        if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) {
          const relDir = relative(dir, current).split(sep).join('/');
          images.push({ abs, rel, dir: relDir });
          imageDirs.add(relDir);
        } else if (!COMPANION_EXTENSIONS.has(ext)) {
          nonImages.push(rel);
        }
      }
    }
  };
  await walk(dir, 0);
  const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  images.sort((a, b) => byPath(a.rel, b.rel));
  nonImages.sort(byPath);
  return { images, nonImages, imageDirs: [...imageDirs].sort(byPath) };
}
