import { Router } from 'express';
import type { NodeRegistry } from '../../../nodes/sdk/registry.ts';

/** `GET /api/nodes`: socket types with colours and every node type, params as JSON Schema. */
export function nodesRouter(registry: NodeRegistry): Router {
  const router = Router();
  // The catalogue is fixed once the server starts, so it is serialised once.
  let body: string | undefined;
  router.get('/api/nodes', (_req, res) => {
    body ??= JSON.stringify(registry.describe());
    res.type('application/json').send(body);
  });
  return router;
}
