/**
 * The slice of the native engine client the sampling nodes use (`services.engine`, the server's
 * `server/engine/engineClient.ts` EngineClient, which satisfies this interface structurally): one request per op with progress, logs, rich events and abort → engine `cancel`.
 */
export type EngineProgress = { value: number; max: number; text?: string };

export interface EngineRequestOptions {
  onProgress?: (p: EngineProgress) => void;
  onLog?: (l: { level: string; message: string }) => void;
  /** The `data` object of `{type:"event"}` messages, e.g. `{type:"sample.preview", ...}`. */
  onEvent?: (data: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

export interface SamplingEngine {
  request(op: string, args: Record<string, unknown>, options?: EngineRequestOptions): Promise<unknown>;
}

/** `services.engine`, or a clear error naming the node. */
export function engineFromServices(services: Record<string, unknown>, nodeTitle: string): SamplingEngine {
  const engine = services.engine as SamplingEngine | undefined;
  if (!engine || typeof engine.request !== 'function') {
    throw new Error(
      `${nodeTitle}: the native engine is not available (services.engine); build it with \`npm run build:native\` and start the server through \`loraflow serve\``,
    );
  }
  return engine;
}
