import { mkdir } from 'node:fs/promises';
import { basename, extname, relative, sep } from 'node:path';
import busboy from 'busboy';
import { type Request, type Response, Router } from 'express';
import sharp from 'sharp';
import type { Roots } from './roots.ts';
import { writeFileAtomic } from './uniqueName.ts';

export const UPLOAD_IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif'];

export interface UploadLimits {
  /** Largest single file, in bytes (default 50 MiB). */
  maxFileBytes: number;
  /** Largest request body, in bytes (default 1 GiB). */
  maxRequestBytes: number;
  /** Most files per request (default 1000). */
  maxFiles: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxFileBytes: 50 * 1024 ** 2,
  maxRequestBytes: 1024 ** 3,
  maxFiles: 1000,
};

export type UploadOutcome =
  | { ok: true; name: string; path: string; width: number; height: number; format: string; size: number }
  | { ok: false; name: string; reason: string };

/** Keeps only a safe base name: no folders, no hidden files, no control characters, a known image extension. */
export function sanitizeUploadName(raw: string): { ok: true; name: string } | { ok: false; reason: string } {
  const name = basename(raw.replaceAll('\\', '/')).trim();
  if (!name || name === '.' || name === '..') return { ok: false, reason: 'empty file name' };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name))
    return { ok: false, reason: 'file name contains control characters' };
  if (name.startsWith('.'))
    return { ok: false, reason: 'hidden file names (starting with ".") are not accepted' };
  const ext = extname(name).toLowerCase();
  if (!UPLOAD_IMAGE_EXTENSIONS.includes(ext))
    return {
      ok: false,
      reason: `"${ext || 'no extension'}" is not an image extension (${UPLOAD_IMAGE_EXTENSIONS.join(' ')})`,
    };
  return { ok: true, name };
}

type Received = { name: string; data: Buffer; truncated: boolean };

/**
 * `POST /api/upload?path=<folder in a dataset root>` with a multipart body of image files. Each file is
 * size-limited, fully decoded with sharp to verify it, and written atomically under its own name or, when that
 * is taken, with a counter (`photo_1.jpg`): an existing file is never overwritten. Answers
 * `{ saved: [...], rejected: [{ name, reason }] }`; 413 when the request exceeds `maxRequestBytes`.
 */
export function createUploadRouter(roots: Roots, limits: Partial<UploadLimits> = {}): Router {
  const lim: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...limits };
  const router = Router();

  router.post('/api/upload', (req: Request, res: Response) => {
    const path = req.query.path ?? '';
    if (typeof path !== 'string') {
      res.status(400).json({ error: 'query "path" must be a single string (a folder in a dataset root)' });
      return;
    }
    const target = roots.resolve('dataset', path);
    if (!target.ok) {
      res.status(403).json({ error: target.reason });
      return;
    }
    if (!req.headers['content-type']?.startsWith('multipart/form-data')) {
      res.status(400).json({ error: 'expected a multipart/form-data body with image files' });
      return;
    }
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: lim.maxFileBytes, files: lim.maxFiles } });
    } catch (e) {
      res.status(400).json({ error: `bad multipart request: ${(e as Error).message}` });
      return;
    }

    const received: Received[] = [];
    let total = 0;
    let failed = false;
    const fail = (status: number, error: string) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      res.status(status).json({ error });
    };

    bb.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      const entry: Received = { name: info.filename ?? '', data: Buffer.alloc(0), truncated: false };
      received.push(entry);
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > lim.maxRequestBytes) {
          fail(413, `upload larger than the ${lim.maxRequestBytes} byte request limit`);
          stream.resume();
          return;
        }
        chunks.push(chunk);
      });
      stream.on('limit', () => {
        entry.truncated = true;
      });
      stream.on('close', () => {
        entry.data = Buffer.concat(chunks);
      });
    });
    bb.on('filesLimit', () => fail(413, `more than ${lim.maxFiles} files in one upload`));
    bb.on('error', (e) => fail(400, `bad multipart body: ${(e as Error).message}`));
    bb.on('close', () => {
      if (failed) return;
      void saveAll(received, target.path, target.root, lim)
        .then((outcomes) => {
          const saved = outcomes.filter((o) => o.ok);
          const rejected = outcomes.filter((o) => !o.ok);
          res.status(saved.length === 0 && rejected.length > 0 ? 400 : 200).json({ saved, rejected });
        })
        .catch((e: Error) => {
          if (!res.headersSent) res.status(500).json({ error: `upload failed: ${e.message}` });
        });
    });
    req.pipe(bb);
  });
  return router;
}

async function saveAll(
  files: Received[],
  dir: string,
  root: string,
  lim: UploadLimits,
): Promise<UploadOutcome[]> {
  const outcomes: UploadOutcome[] = [];
  let dirReady = false;
  for (const f of files) {
    const safe = sanitizeUploadName(f.name);
    if (!safe.ok) {
      outcomes.push({ ok: false, name: f.name, reason: safe.reason });
      continue;
    }
    if (f.truncated) {
      outcomes.push({
        ok: false,
        name: safe.name,
        reason: `larger than the ${lim.maxFileBytes} byte per-file limit`,
      });
      continue;
    }
    if (f.data.length === 0) {
      outcomes.push({ ok: false, name: safe.name, reason: 'empty file' });
      continue;
    }
    let info: { width: number; height: number; format: string };
    try {
      // A full decode (not just the header) catches truncated and corrupt files.
      const meta = await sharp(f.data, { failOn: 'warning' }).metadata();
      // Decoding to a small size still reads every byte, but keeps memory low for very large images.
      await sharp(f.data, { failOn: 'warning' }).resize(256, 256, { fit: 'inside' }).raw().toBuffer();
      info = { width: meta.width ?? 0, height: meta.height ?? 0, format: meta.format ?? 'unknown' };
    } catch (e) {
      outcomes.push({ ok: false, name: safe.name, reason: `not a readable image: ${(e as Error).message}` });
      continue;
    }
    if (!dirReady) {
      await mkdir(dir, { recursive: true });
      dirReady = true;
    }
    const written = await writeFileAtomic(dir, safe.name, f.data);
    outcomes.push({
      ok: true,
      name: basename(written),
      path: relative(root, written).split(sep).join('/'),
      size: f.data.length,
      ...info,
    });
  }
  return outcomes;
}
