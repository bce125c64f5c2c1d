import { open } from 'node:fs/promises';
import { Router } from 'express';
import { z } from 'zod';
import { Sha256 } from '../../../nodes/sdk/values.ts';
import type { FileArtifactStore } from '../../store/artifactStore.ts';
import { notFound } from '../http/errors.ts';
import { parseOr400 } from '../http/validate.ts';
import { servedContentType } from './contentType.ts';

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

/**
 * `GET /api/artifacts/:hash`: a blob from the store, nothing else. Content never changes for a hash, so it is
 * cached forever and its ETag is the hash.
 */
export function artifactsRouter(store: FileArtifactStore): Router {
  const router = Router();
  router.get('/api/artifacts/:hash', async (req, res) => {
    const { hash } = parseOr400(Params, req.params, 'artifact hash');
    // verify() checks size and mtime and re-hashes a touched blob, evicting a corrupt one.
    if (!store.verify(hash)) throw notFound(`artifact ${hash}`);
    const etag = `"${hash}"`;
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
      res.sendFile(
        path,
        { etag: false, lastModified: false, cacheControl: false, dotfiles: 'allow' },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  });
  return router;
}
