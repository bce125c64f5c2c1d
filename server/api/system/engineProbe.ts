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
  /** Services handed to nodes (`ctx.services.engine`), created lazily on first use. */
  services(): NodeServices;
  /** For `GET /api/system`: resolves within the timeout, never rejects. */
  status(): Promise<EngineStatus>;
  close(): Promise<void>;
};

const HELLO_TIMEOUT_MS = 1500;

/**
 * The engine as the server sees it. `connect` builds the client (the engine binary is started on the first
 * request, not at server start); without one, only the binary's presence is reported.
 */
export function engineProbe(binary: string, connect?: (binary: string) => EngineConnection): EngineHandle {
  let connection: EngineConnection | undefined;
  const get = () => {
    if (!connect) throw new Error('this server was started without an engine client');
    connection ??= connect(binary);
    return connection;
  };
  return {
    services() {
      if (!connect) return {};
      // A getter keeps the engine process from starting until a node actually uses it.
      return Object.defineProperty({}, 'engine', { enumerable: true, get });
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
      if (!connect) {
        return {
          status: 'error',
          binary,
          message: 'the engine binary exists but no engine client is configured',
        };
      }
      try {
        const hello = await get().hello({ timeoutMs: HELLO_TIMEOUT_MS });
        return {
          status: 'ok',
          binary,
          devices: hello.devices,
          ...(hello.version ? { version: hello.version } : {}),
          ...(hello.details ? { details: hello.details } : {}),
        };
      } catch (err) {
        return { status: 'error', binary, message: (err as Error).message };
      }
    },
    async close() {
      await connection?.close();
    },
  };
}
