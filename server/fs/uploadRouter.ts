import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, relative, sep } from 'node:path';
import busboy from 'busboy';
import { type Request, type Response, Router } from 'express';
import { isPixelLimitError, MAX_INPUT_PIXELS, openImage } from '../../nodes/image/openImage.ts';
import { sendError } from '../api/http/errors.ts';
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

type Received = { name: string; spool: string; size: number; truncated: boolean };

/**
 * `POST /api/upload?path=<folder in a dataset root>` with a multipart body of image files. Each file is
 * spooled to a temp file (memory stays bounded by one file at a time), size-limited, fully decoded with
 * sharp under the pixel limit to verify it, and written atomically under its own name or, when that is
 * taken, with a counter (`photo_1.jpg`): an existing file is never overwritten. Answers
 * `{ saved: [...], rejected: [{ name, reason }] }`. A body over `maxRequestBytes` is refused with 413 as soon
 * as the limit is crossed (or at once from its Content-Length); `cutUnreadBodies()` then closes the connection,
 * so a huge upload is never read to its end.
 */
export function createUploadRouter(roots: Roots, limits: Partial<UploadLimits> = {}): Router {
  const lim: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...limits };
  const router = Router();

  router.post('/api/upload', (req: Request, res: Response) => {
    // Replies sent before the body was read leave the rest to the app's cutUnreadBodies().
    const path = req.query.path ?? '';
    if (typeof path !== 'string') {
      sendError(
        res,
        400,
        'invalid_request',
        'query "path" must be a single string (a folder in a dataset root)',
      );
      return;
    }
    const target = roots.resolve('dataset', path);
    if (!target.ok) {
      sendError(res, 403, 'forbidden_path', target.reason);
      return;
    }
    if (!req.headers['content-type']?.startsWith('multipart/form-data')) {
      sendError(res, 415, 'expected_multipart', 'expected a multipart/form-data body with image files');
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > lim.maxRequestBytes) {
      sendError(
        res,
        413,
        'body_too_large',
        `upload of ${declared} bytes is larger than the ${lim.maxRequestBytes} byte request limit`,
      );
      return;
    }
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: lim.maxFileBytes, files: lim.maxFiles } });
    } catch (e) {
      sendError(res, 400, 'bad_multipart', `bad multipart request: ${(e as Error).message}`);
      return;
    }

    const spoolDir = mkdtempSync(join(tmpdir(), 'loraflow-upload-'));
    const cleanup = () => rm(spoolDir, { recursive: true, force: true }).catch(() => {});
    const received: Received[] = [];
    const writes: Promise<void>[] = [];
    const outs: WriteStream[] = [];
    let total = 0;
    let failed = false;
    const fail = (status: number, code: string, message: string) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      bb.removeAllListeners('file');
      for (const o of outs) o.destroy();
      void Promise.allSettled(writes).then(cleanup);
      sendError(res, status, code, message);
    };
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > lim.maxRequestBytes) {
        fail(413, 'body_too_large', `upload larger than the ${lim.maxRequestBytes} byte request limit`);
      }
    });

    bb.on('file', (_field, stream, info) => {
      const entry: Received = {
        name: info.filename ?? '',
        spool: join(spoolDir, String(received.length)),
        size: 0,
        truncated: false,
      };
      received.push(entry);
      stream.on('data', (chunk: Buffer) => {
        entry.size += chunk.length;
      });
      stream.on('limit', () => {
        entry.truncated = true;
      });
      const out = createWriteStream(entry.spool, { flags: 'wx' });
      outs.push(out);
      writes.push(
        new Promise<void>((resolve, reject) => {
          out.on('close', resolve);
          out.on('error', reject);
          stream.on('error', reject);
        }),
      );
      stream.pipe(out);
    });
    bb.on('filesLimit', () => fail(413, 'too_many_files', `more than ${lim.maxFiles} files in one upload`));
    bb.on('error', (e) => fail(400, 'bad_multipart', `bad multipart body: ${(e as Error).message}`));
    bb.on('close', () => {
      if (failed) return;
      void Promise.all(writes)
        .then(() => saveAll(received, target.path, target.root, lim))
        .then((outcomes) => {
          const saved = outcomes.filter((o) => o.ok);
          const rejected = outcomes.filter((o) => !o.ok);
          if (saved.length === 0 && rejected.length > 0) {
            const first = rejected[0]!;
            res.status(400).json({
              error: {
                code: 'no_image_saved',
                message: `no file was saved: ${first.name}: ${first.reason}${rejected.length > 1 ? ` (and ${rejected.length - 1} more)` : ''}`,
              },
              saved,
              rejected,
            });
            return;
          }
          res.json({ saved, rejected });
        })
        .catch((e: Error) => {
          if (!res.headersSent) sendError(res, 500, 'upload_failed', `upload failed: ${e.message}`);
        })
        .finally(cleanup);
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
    if (f.size === 0) {
      outcomes.push({ ok: false, name: safe.name, reason: 'empty file' });
      continue;
    }
    let info: { width: number; height: number; format: string };
    try {
      // A full decode (not just the header) catches truncated and corrupt files.
      const meta = await openImage(f.spool, { failOn: 'warning' }).metadata();
      // Decoding to a small size still reads every byte, but keeps memory low for very large images.
      await openImage(f.spool, { failOn: 'warning' }).resize(256, 256, { fit: 'inside' }).raw().toBuffer();
      info = { width: meta.width ?? 0, height: meta.height ?? 0, format: meta.format ?? 'unknown' };
    } catch (e) {
      const reason = isPixelLimitError(e)
        ? `the image has more than ${MAX_INPUT_PIXELS} pixels (a decompression bomb or a huge scan); resize it first`
        : `not a readable image: ${(e as Error).message}`;
      outcomes.push({ ok: false, name: safe.name, reason });
      continue;
    }
    if (!dirReady) {
      await mkdir(dir, { recursive: true });
      dirReady = true;
    }
    const written = await writeFileAtomic(dir, safe.name, await readFile(f.spool));
    outcomes.push({
      ok: true,
      name: basename(written),
      path: relative(root, written).split(sep).join('/'),
      size: f.size,
      ...info,
    });
  }
  return outcomes;
}
