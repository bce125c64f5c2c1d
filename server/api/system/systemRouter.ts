import { Router } from 'express';
import { diskUsage, type EngineStatus, loraflowVersion, type SystemInfo } from './systemInfo.ts';

export type SystemSources = {
  dataDir: string;
  cacheLimitBytes: number;
  tokenRequired: boolean;
  sqliteVersion: string;
  artifactUsage(): { count: number; bytes: number };
  queueCounts(): { queued: number; running: number };
  /** Must resolve (with `missing` or `error`) rather than reject, and within a short timeout. */
  engineStatus(): Promise<EngineStatus>;
};

const started = Date.now();

/** `GET /api/system`: versions, engine status and devices, data directory usage. */
export function systemRouter(src: SystemSources): Router {
  const router = Router();
  router.get('/api/system', async (_req, res) => {
    const [engine, disk] = await Promise.all([src.engineStatus(), diskUsage(src.dataDir)]);
    const info: SystemInfo = {
      versions: {
        loraflow: loraflowVersion(),
        node: process.version,
        sqlite: src.sqliteVersion,
        platform: `${process.platform}-${process.arch}`,
      },
      uptimeS: Math.round((Date.now() - started) / 1000),
      engine,
      devices: engine.status === 'ok' ? engine.devices : [],
      data: {
        dir: src.dataDir,
        artifacts: src.artifactUsage(),
        cacheLimitBytes: src.cacheLimitBytes,
        disk,
      },
      queue: src.queueCounts(),
      auth: { tokenRequired: src.tokenRequired },
    };
    res.json(info);
  });
  return router;
}
