import { open } from 'node:fs/promises';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { Sha256 } from '../../../nodes/sdk/values.ts';
import {
  ArtifactCorruptError,
  ArtifactNotFoundError,
  type FileArtifactStore,
} from '../../store/artifactStore.ts';
import { ApiError, notFound } from '../http/errors.ts';
import { parseOr400 } from '../http/validate.ts';
import { servedContentType } from './contentType.ts';
import { createThumbnailer, NotAnImageError } from './thumbnails.ts';

const Params = z.object({ hash: Sha256 });

async function readHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(16);
    const { bytesRead } = await fh.read(buf, 0, 16, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Sends a stored blob with immutable caching; its ETag is `etagHash` (the blob's hash unless told). */
async function sendBlob(
  req: Request,
  res: Response,
  store: FileArtifactStore,
  hash: string,
  etagHash = hash,
): Promise<void> {
  const etag = `"${etagHash}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
  if (req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    res.status(304).end();
    return;
  }
  const path = store.pathOf(hash);
  const { type, inline } = servedContentType(store.meta(hash)?.contentType, await readHead(path));
  res.setHeader('Content-Type', type);
  if (!inline) res.setHeader('Content-Disposition', `attachment; filename="${hash.slice(0, 16)}"`);
  await new Promise<void>((resolve, reject) => {
    res.sendFile(path, { etag: false, lastModified: false, cacheControl: false, dotfiles: 'allow' }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

/**
 * `GET /api/artifacts/:hash`: a blob from the store, nothing else. Content never changes for a hash, so it is
 * cached forever and its ETag is the hash.
 * `GET /api/artifacts/:hash/thumbnail`: a small JPEG of an image blob, made on first request and stored;
 * 415 for a blob that is not an image.
 */
export function artifactsRouter(store: FileArtifactStore): Router {
  const router = Router();
  const thumbnailOf = createThumbnailer(store);
  router.get('/api/artifacts/:hash', async (req, res) => {
    const { hash } = parseOr400(Params, req.params, 'artifact hash');
    // verify() checks size and mtime and re-hashes a touched blob, evicting a corrupt one.
    if (!store.verify(hash)) throw notFound(`artifact ${hash}`);
    await sendBlob(req, res, store, hash);
  });
  router.get('/api/artifacts/:hash/thumbnail', async (req, res) => {
    const { hash } = parseOr400(Params, req.params, 'artifact hash');
    if (!store.verify(hash)) throw notFound(`artifact ${hash}`);
    let thumb: string;
    try {
      thumb = await thumbnailOf(hash);
    } catch (e) {
      // The per-item cache wraps what the thumbnailer threw.
      const cause = (e as Error).cause ?? e;
      if (cause instanceof NotAnImageError) {
        throw new ApiError(415, 'not_an_image', `artifact ${hash} is not an image: ${cause.message}`);
      }
      if (cause instanceof ArtifactNotFoundError || cause instanceof ArtifactCorruptError) {
        throw notFound(`artifact ${hash}`);
      }
      throw e;
    }
    // The thumbnail's own hash in the ETag: a re-made thumbnail is a new version for caches.
    await sendBlob(req, res, store, thumb, `${hash}.${thumb}`);
  });
  return router;
}
