import { reduceExecution } from './executionReducer.ts';
import { useExecution } from './executionStore.ts';
import { type ExecEvent, normalizeEvent } from './serverEvents.ts';

type Listener = (ev: ExecEvent) => void;

const listeners = new Set<Listener>();

/** Subscribes to every normalised server event (the dashboard listens for `node.event`s). */
export function onServerEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Applies one event to the execution store and tells the listeners. */
export function dispatchEvent(ev: ExecEvent): void {
  const state = useExecution.getState();
  const next = reduceExecution(state, ev);
  if (next !== state) useExecution.setState(next, true);
  for (const fn of listeners) fn(ev);
}

let socket: WebSocket | null = null;
let retry = 0;
let stopped = false;
const warned = new Set<string>();

/**
 * Connects to `/api/events`, reconnecting with backoff. Each connect starts with the server's `snapshot`,
 * which restores live run state after a reload or a dropped connection.
 */
export function connectEvents(): () => void {
  stopped = false;
  open();
  return () => {
    stopped = true;
    socket?.close();
    socket = null;
  };
}

function open() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => {
    retry = 0;
    useExecution.setState({ connected: true });
  };
  ws.onmessage = (msg) => {
    let raw: unknown;
    try {
      raw = JSON.parse(String(msg.data));
    } catch {
      return;
    }
    const ev = normalizeEvent(raw);
    if (ev) dispatchEvent(ev);
    else {
      const type = (raw as { type?: unknown })?.type;
      const key = typeof type === 'string' ? type : 'unknown';
      if (!warned.has(key) && key !== 'pong' && key !== 'error') {
        warned.add(key);
        console.warn(`loraflow: ignoring unrecognised server message "${key}"`);
      }
    }
  };
  ws.onclose = () => {
    if (socket === ws) socket = null;
    useExecution.setState({ connected: false });
    if (stopped) return;
    retry = Math.min(retry + 1, 6);
    setTimeout(
      () => {
        if (!stopped && socket === null) open();
      },
      250 * 2 ** retry,
    );
  };
  ws.onerror = () => ws.close();
}
