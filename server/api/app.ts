import express, { type Express, type Router } from 'express';
import { originGuard, requireToken } from '../auth/authMiddleware.ts';
import { fromImageRouter } from '../images/fromImageRouter.ts';
import type { FileArtifactStore } from '../store/artifactStore.ts';
import { artifactsRouter } from './artifacts/artifactsRouter.ts';
import { errorHandler, notFoundHandler } from './http/errors.ts';
import { securityHeaders } from './http/security.ts';
import { cutUnreadBodies } from './http/unreadBody.ts';
import { nodesRouter } from './nodes/nodesRouter.ts';
import { type RunsDeps, runsRouter } from './runs/runsRouter.ts';
import { clientRouter } from './static/clientRouter.ts';
import { type SystemSources, systemRouter } from './system/systemRouter.ts';
import type { WorkflowFiles } from './workflows/workflowFiles.ts';
import { type WorkflowDocumentCheck, workflowsRouter } from './workflows/workflowsRouter.ts';

export type AppDeps = RunsDeps & {
  token: string | undefined;
  store: FileArtifactStore;
  workflows: WorkflowFiles;
  checkWorkflow: WorkflowDocumentCheck;
  system: SystemSources;
  /** Routers of other features (file browser, uploads), mounted before the API's 404. */
  extraRouters?: Router[];
  /** The built editor (`client/dist`); served at `/` when it exists. */
  clientDist?: string;
};

/**
 * The HTTP app. Order matters: security headers, then the origin guard and the token check in front of
 * everything, then the API, a JSON 404 for unknown API paths, the editor, and the JSON error handler.
 * No CORS headers are ever sent, so other sites cannot read responses.
 */
export function createApp(d: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(securityHeaders());
  app.use(cutUnreadBodies());
  app.use(originGuard(d.token !== undefined));
  app.use(requireToken(d.token));
  app.use(nodesRouter(d.registry));
  app.use(runsRouter(d));
  app.use(artifactsRouter(d.store));
  app.use(workflowsRouter(d.workflows, d.checkWorkflow));
  app.use(fromImageRouter());
  app.use(systemRouter(d.system));
  for (const r of d.extraRouters ?? []) app.use(r);
  app.use('/api', notFoundHandler);
  if (d.clientDist) app.use(clientRouter(d.clientDist));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
