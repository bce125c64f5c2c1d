import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response, Router } from 'express';

/**
 * Serves the built editor (`client/dist`) when it exists. Unknown non-API GETs fall back to index.html so
 * client-side routes survive a reload. Hashed assets are cached forever; index.html never.
 */
export function clientRouter(distDir: string): Router {
  const router = Router();
  const index = join(distDir, 'index.html');
  if (!existsSync(index)) return router;
  router.use(
    express.static(distDir, {
      index: false,
      dotfiles: 'ignore',
      setHeaders(res, path) {
        if (path.includes(`${join(distDir, 'assets')}`)) {
          res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        } else {
          res.setHeader('Cache-Control', 'no-cache');
        }
      },
    }),
  );
  router.get(/^(?!\/api(\/|$)).*/, (req: Request, res: Response, next) => {
    if (!req.accepts('html')) {
      next();
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
