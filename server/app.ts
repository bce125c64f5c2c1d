import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NodeServices } from '../nodes/sdk/context.ts';
import type { NodeRegistry } from '../nodes/sdk/registry.ts';
import { createApp } from './api/app.ts';
import { ServerMessage } from './api/events/serverMessages.ts';
import { WsHub } from './api/events/wsHub.ts';
import { createEngineConnection } from './api/system/engineConnection.ts';
import { engineProbe } from './api/system/engineProbe.ts';
import { WorkflowFiles } from './api/workflows/workflowFiles.ts';
import { checkBind } from './auth/bind.ts';
import { type Config, repoRoot } from './config/config.ts';
import { createExecutor, type Executor } from './executor/executor.ts';
import { createFilesRouter } from './fs/filesRouter.ts';
import { createRoots } from './fs/roots.ts';
import { createUploadRouter } from './fs/uploadRouter.ts';
import { RunQueue } from './queue/runQueue.ts';
import { RunRepository } from './queue/runRepository.ts';
import { createArtifactStore, type FileArtifactStore } from './store/artifactStore.ts';
import { type AppDatabase, openDatabase } from './store/database.ts';
import { type CacheGc, createCacheGc } from './store/gc.ts';
import { loadWorkflow } from './workflow/load.ts';

export type StartServerOptions = {
  config: Config;
  registry: NodeRegistry;
  /** Services for nodes besides the defaults (roots; the engine client when available). */
  services?: NodeServices;
  /** The built editor; default `client/dist` of the package. `null` serves no editor. */
  clientDist?: string | null;
  /** `false` runs without the native engine client (tests of light nodes). */
  engine?: false;
  /** How many light nodes run at once (executor default when omitted). */
  lightConcurrency?: number;
};

export type LoraflowServer = {
  /** `http://host:port` as actually bound (port 0 picks a free one). */
  url: string;
  host: string;
  port: number;
  http: Server;
  db: AppDatabase;
  store: FileArtifactStore;
  executor: Executor;
  repo: RunRepository;
  queue: RunQueue;
  gc: CacheGc;
  hub: WsHub<ServerMessage>;
  /** Stops accepting work, leaves an active run to resume on the next start, closes everything. */
  close(): Promise<void>;
};

export class StartupError extends Error {
  override name = 'StartupError';
}

/** Starts the HTTP + websocket server with its queue on the configured data directory. */
export async function startServer(o: StartServerOptions): Promise<LoraflowServer> {
  const { config, registry } = o;
  const bind = checkBind(config.host, config.token);
  if (!bind.ok) throw new StartupError(bind.reason);

  const db = openDatabase(config.dataDir);
  try {
    const store = createArtifactStore(db);
    const gc = createCacheGc(db, store);
    const roots = createRoots(config.roots);
    const engine = engineProbe(
      config.engine.binary,
      o.engine === false ? undefined : createEngineConnection(config.engine.binary, config.dataDir),
    );
    const executor = createExecutor({
      registry,
      db,
      store,
      services: { roots, ...engine.services(), ...o.services },
      ...(o.lightConcurrency ? { lightConcurrency: o.lightConcurrency } : {}),
    });
    const repo = new RunRepository(db);
    // Collecting between queued runs would delay them: the limit is enforced when the queue drains and at start.
    const collectIfOverLimit = () => {
      if (gc.usage().totalBytes > config.cache.maxBytes) {
        gc.collect({ maxBytes: config.cache.maxBytes, pinned: queue.pinnedHashes() });
      }
    };
    const http = createServer();
    let hub: WsHub<ServerMessage> | undefined;
    const queue: RunQueue = new RunQueue({
      repo,
      executor,
      registry,
      gc,
      publish: (msg) => hub?.broadcast(msg),
      afterRun: () => {
        if (queue.counts().queued === 0) collectIfOverLimit();
      },
    });
    hub = new WsHub<ServerMessage>({
      server: http,
      ...(config.token ? { token: config.token } : {}),
      schema: ServerMessage,
      snapshot: () => ({ type: 'snapshot', ts: Date.now(), queue: queue.state(), runs: queue.activeRuns() }),
      errorMessage: (message, details) => ({ type: 'error', ts: Date.now(), message, details }),
      pongMessage: (id) => ({ type: 'pong', ts: Date.now(), ...(id === undefined ? {} : { id }) }),
    });

    const clientDist = o.clientDist === undefined ? join(repoRoot, 'client', 'dist') : o.clientDist;
    const app = createApp({
      token: config.token,
      registry,
      executor,
      queue,
      repo,
      store,
      workflows: new WorkflowFiles(config.workflows.templates, config.workflows.user),
      checkWorkflow: (body) => {
        const loaded = loadWorkflow(body);
        return loaded.ok
          ? { ok: true, document: loaded.doc }
          : {
              ok: false,
              message: 'not a valid loraflow workflow document',
              details: { errors: loaded.errors },
            };
      },
      system: {
        dataDir: config.dataDir,
        cacheLimitBytes: config.cache.maxBytes,
        tokenRequired: config.token !== undefined,
        sqliteVersion: (db.sqlite.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
        artifactUsage: () => store.usage(),
        queueCounts: () => queue.counts(),
        engineStatus: () => engine.status(),
      },
      extraRouters: [createFilesRouter(roots), createUploadRouter(roots)],
      ...(clientDist && existsSync(clientDist) ? { clientDist } : {}),
    });
    http.on('request', app);

    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new StartupError(
            err.code === 'EADDRINUSE'
              ? `port ${config.port} on ${config.host} is already in use; stop the other server or pass --port`
              : err.code === 'EADDRNOTAVAIL'
                ? `cannot listen on ${config.host}: no such address on this machine`
                : `cannot listen on ${config.host}:${config.port}: ${err.message}`,
          ),
        );
      };
      http.once('error', onError);
      http.listen(config.port, config.host, () => {
        http.off('error', onError);
        resolve();
      });
    });
    queue.start();
    collectIfOverLimit();

    const address = http.address() as AddressInfo;
    const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${hostForUrl}:${address.port}`,
      host: address.address,
      port: address.port,
      http,
      db,
      store,
      executor,
      repo,
      queue,
      gc,
      hub,
      close() {
        closing ??= (async () => {
          await queue.close();
          await hub.close();
          http.closeAllConnections();
          await new Promise<void>((resolve) => http.close(() => resolve()));
          await engine.close();
          db.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
