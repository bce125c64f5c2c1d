import { dispatchEvent } from '../features/run/eventsClient.ts';
import { normalizeEvent } from '../features/run/serverEvents.ts';

/**
 * Render counters and an event-ingest hook for the editor benchmark (`npm run bench:editor`), which proves
 * that progress events re-render neither the graph nor other nodes. Incrementing counters costs nothing.
 */
export const renderStats = { canvas: 0, nodes: 0 };

/** Feeds raw server messages through the same validation and store as the websocket does. */
function ingest(messages: unknown[]): number {
  let applied = 0;
  for (const raw of messages) {
    const ev = normalizeEvent(raw);
    if (ev) {
      dispatchEvent(ev);
      applied += 1;
    }
  }
  return applied;
}

declare global {
  interface Window {
    __loraflowBench?: { stats: typeof renderStats; ingest: typeof ingest };
  }
}

if (typeof window !== 'undefined') window.__loraflowBench = { stats: renderStats, ingest };
