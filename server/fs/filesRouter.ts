import { type Request, type Response, Router } from 'express';
import { sendError } from '../api/http/errors.ts';
import { ROOT_KINDS, type RootKind, type Roots } from './roots.ts';

export function parseRootKind(value: unknown): RootKind | undefined {
  return typeof value === 'string' && (ROOT_KINDS as readonly string[]).includes(value)
    ? (value as RootKind)
    : undefined;
}

/**
 * `GET /api/files?root=dataset|model|output&path=rel` lists a folder inside the configured roots, for the
 * editor's file and folder pickers. Query values arrive URL-decoded once, so `..%2F` is refused like `../`.
 */
export function createFilesRouter(roots: Roots): Router {
  const router = Router();
  router.get('/api/files', async (req: Request, res: Response) => {
    const kind = parseRootKind(req.query.root);
    if (!kind) {
      sendError(res, 400, 'invalid_request', `query "root" must be one of ${ROOT_KINDS.join(', ')}`);
      return;
    }
    const path = req.query.path ?? '';
    if (typeof path !== 'string') {
      sendError(res, 400, 'invalid_request', 'query "path" must be a single string');
      return;
    }
    const result = await roots.list(kind, path);
    if (!result.ok) {
      sendError(res, result.status, result.status === 403 ? 'forbidden_path' : 'not_found', result.reason);
      return;
    }
    res.json({ root: kind, path: result.path, entries: result.entries });
  });
  return router;
}
