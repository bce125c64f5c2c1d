import { join } from 'node:path';
import { EngineClient } from '../../engine/engineClient.ts';
import type { EngineConnection } from './engineProbe.ts';
import type { EngineDevice } from './systemInfo.ts';

export type EngineClientConnection = { client: EngineClient; connection: EngineConnection };

/**
 * The engine client nodes use (`ctx.services.engine`) and the server's view of it for `GET /api/system`.
 * Constructing the client starts nothing: the engine process starts on the first request.
 */
export function createEngineConnection(binary: string, dataDir: string): EngineClientConnection {
  const client = new EngineClient({
    binPath: binary,
    workDir: join(dataDir, 'engine'),
    onCrash: (exit) => console.error(`[engine] exited unexpectedly: ${JSON.stringify(exit)}`),
  });
  const connection: EngineConnection = {
    async hello({ timeoutMs }) {
      const h = await client.hello({ timeoutMs });
      const devices: EngineDevice[] = h.devices.map((d) =>
        d.type === 'cuda'
          ? { name: d.name, kind: `cuda:${d.index}`, memoryBytes: d.total_memory }
          : {
              name: `CPU (${d.threads} threads)`,
              kind: 'cpu',
              ...(d.total_memory !== undefined ? { memoryBytes: d.total_memory } : {}),
            },
      );
      return {
        version: h.engine_version,
        devices,
        details: { libtorch: h.libtorch_version, cudaAvailable: h.cuda_available, ops: h.ops },
      };
    },
    close: () => client.close(),
  };
  return { client, connection };
}
