import type { ArtifactStore } from '../../nodes/sdk/artifacts.ts';
import type { NodeContext, NodeEvent, NodeServices, PerItemCache } from '../../nodes/sdk/context.ts';
import { abortError } from '../../nodes/sdk/errors.ts';

export { abortError, isAbortError } from '../../nodes/sdk/errors.ts';

export type LogLevel = 'info' | 'warn' | 'error';

/** Where a node context sends what the node reports. */
export type NodeContextSinks = {
  progress(value: number, max: number, text: string | undefined): void;
  log(level: LogLevel, message: string): void;
  emit(event: NodeEvent): void;
};

export type NodeContextOptions = {
  runId: string;
  nodeId: string;
  signal: AbortSignal;
  store: ArtifactStore;
  itemCache: PerItemCache;
  services: NodeServices;
  sinks: NodeContextSinks;
};

/**
 * Builds the context handed to `run()`. `progress` throws an AbortError once the signal is aborted, so a node
 * that reports progress stops at its next report even if it never checks the signal itself.
 */
export function createNodeContext(o: NodeContextOptions): NodeContext {
  const { signal, sinks } = o;
  return {
    runId: o.runId,
    nodeId: o.nodeId,
    signal,
    store: o.store,
    itemCache: o.itemCache,
    services: o.services,
    progress(value: number, max: number, text?: string) {
      if (signal.aborted) throw abortError();
      sinks.progress(value, max, text);
    },
    log: {
      info: (message: string) => sinks.log('info', message),
      warn: (message: string) => sinks.log('warn', message),
      error: (message: string) => sinks.log('error', message),
    },
    emit(event: NodeEvent) {
      if (signal.aborted) throw abortError();
      if (typeof event?.type !== 'string' || event.type === '') {
        throw new Error('ctx.emit(event) needs an event with a non-empty string type');
      }
      sinks.emit(event);
    },
  };
}
