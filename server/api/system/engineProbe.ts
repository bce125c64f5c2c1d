import { existsSync } from 'node:fs';
import type { NodeServices } from '../../../nodes/sdk/context.ts';
import type { EngineDevice, EngineStatus } from './systemInfo.ts';

/** What the server needs from an engine client: a handshake and a way to stop it. */
export type EngineConnection = {
  hello(options: { timeoutMs: number }): Promise<{
    version?: string;
    devices: EngineDevice[];
    details?: Record<string, unknown>;
  }>;
  close(): Promise<void>;
};

export type EngineHandle = {
  /** Services handed to nodes (`ctx.services.engine`). */
  services(): NodeServices;
  /** For `GET /api/system`: resolves within the timeout, never rejects. */
  status(): Promise<EngineStatus>;
  close(): Promise<void>;
};

/** The first hello includes starting the engine and loading libtorch, which can take a while. */
const HELLO_TIMEOUT_MS = 60_000;
/** `GET /api/system` never waits longer than this for the engine. */
const ANSWER_WITHIN_MS = 2000;
/** Devices and versions do not change while the engine runs; re-ask at most this often. */
const HELLO_CACHE_MS = 30_000;

/** The engine as the server sees it. Without an engine (`engine` undefined) only the binary's presence is reported. */
export function engineProbe(
  binary: string,
  engine?: { client: unknown; connection: EngineConnection },
): EngineHandle {
  let last: { at: number; status: EngineStatus } | undefined;
  let inflight: Promise<EngineStatus> | undefined;
  return {
    services() {
      return engine ? { engine: engine.client } : {};
    },
    async status() {
      if (!existsSync(binary)) {
        return {
          status: 'missing',
          binary,
          message:
            'the native engine is not built; run `npm run build:native` (training and generation need it)',
        };
      }
      if (!engine) {
        return {
          status: 'error',
          binary,
          message: 'the engine binary exists but no engine client is configured',
        };
      }
      if (last && Date.now() - last.at < HELLO_CACHE_MS) return last.status;
      // One hello at a time; a slow first start keeps going after this request has answered.
      inflight ??= engine.connection
        .hello({ timeoutMs: HELLO_TIMEOUT_MS })
        .then(
          (hello): EngineStatus => {
            const status: EngineStatus = {
              status: 'ok',
              binary,
              devices: hello.devices,
              ...(hello.version ? { version: hello.version } : {}),
              ...(hello.details ? { details: hello.details } : {}),
            };
            last = { at: Date.now(), status };
            return status;
          },
          (err): EngineStatus => ({ status: 'error', binary, message: (err as Error).message }),
        )
        .finally(() => {
          inflight = undefined;
        });
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        inflight,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), ANSWER_WITHIN_MS);
        }),
      ]);
      clearTimeout(timer);
      return (
        waited ?? {
          status: 'error',
          binary,
          message: `the engine is starting (no answer within ${ANSWER_WITHIN_MS / 1000} s); ask again in a moment`,
        }
      );
    },
    async close() {
      await engine?.connection.close();
    },
  };
}
