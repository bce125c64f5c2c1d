import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { repoRoot } from '../../config/config.ts';

export const EngineDevice = z.object({
  name: z.string(),
  kind: z.string(),
  memoryBytes: z.number().optional(),
});
export type EngineDevice = z.infer<typeof EngineDevice>;

/** What `GET /api/system` reports about the native engine; never an error, even when it is missing. */
export const EngineStatus = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('ok'),
    binary: z.string(),
    version: z.string().optional(),
    devices: z.array(EngineDevice),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ status: z.literal('missing'), binary: z.string(), message: z.string() }),
  z.object({ status: z.literal('error'), binary: z.string(), message: z.string() }),
]);
export type EngineStatus = z.infer<typeof EngineStatus>;

export const SystemInfo = z.object({
  versions: z.object({ loraflow: z.string(), node: z.string(), sqlite: z.string(), platform: z.string() }),
  uptimeS: z.number(),
  engine: EngineStatus,
  devices: z.array(EngineDevice),
  data: z.object({
    dir: z.string(),
    artifacts: z.object({ count: z.number(), bytes: z.number() }),
    cacheLimitBytes: z.number(),
    disk: z.object({ freeBytes: z.number(), totalBytes: z.number() }).nullable(),
  }),
  queue: z.object({ queued: z.number(), running: z.number() }),
  auth: z.object({ tokenRequired: z.boolean() }),
});
export type SystemInfo = z.infer<typeof SystemInfo>;

let packageVersion: string | undefined;
export function loraflowVersion(): string {
  if (packageVersion === undefined) {
    try {
      packageVersion = (
        JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
      ).version;
    } catch {
      packageVersion = 'unknown';
    }
  }
  return packageVersion;
}

export async function diskUsage(dir: string): Promise<{ freeBytes: number; totalBytes: number } | null> {
  try {
    const s = await statfs(dir);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return null;
  }
}
