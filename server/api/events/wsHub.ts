import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { z } from 'zod';
import { hostAllowed, originAllowed } from '../../auth/origin.ts';
import { requestToken } from '../../auth/requestToken.ts';
import { tokensMatch } from '../../auth/token.ts';
import { zodIssues } from '../http/validate.ts';
import { ClientMessage } from './clientMessages.ts';

export const EVENTS_PATH = '/api/events';
const MAX_CLIENT_MESSAGE = 16 * 1024;
/** Above this a slow client stops getting progress updates; far above it, it is disconnected. */
const SKIP_PROGRESS_BYTES = 1024 * 1024;
const DROP_CLIENT_BYTES = 32 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;

type Routed = { type: string; runId?: string };

type Client = { ws: WebSocket; runFilter: string | null; alive: boolean };

export type WsHubOptions<M extends Routed> = {
  server: Server;
  token?: string;
  /** Schema of every server message: each outgoing message is checked before it is sent. */
  schema: z.ZodType<M>;
  /** The first message a client gets, and the answer to `{type:'snapshot'}`. */
  snapshot: () => M;
  /** Builds the error reply for an invalid client message. */
  errorMessage: (message: string, details?: unknown) => M;
  /** Builds the pong reply. */
  pongMessage: (id?: string) => M;
};

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.write(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
  socket.destroy();
}

/** The websocket endpoint: authenticates upgrades, validates both directions, fans server messages out. */
export class WsHub<M extends Routed> {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE });
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Sockets corked during this turn of the event loop; uncorked together by one setImmediate. */
  private readonly corked = new Set<Duplex>();
  private flushScheduled = false;
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

  constructor(private readonly options: WsHubOptions<M>) {
    this.onUpgrade = (req, socket, head) => this.handleUpgrade(req, socket, head);
    options.server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.checkAlive(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== EVENTS_PATH) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (!originAllowed(req) || !hostAllowed(req, this.options.token !== undefined)) {
      rejectUpgrade(socket, 403, 'Forbidden');
      return;
    }
    const { token } = this.options;
    if (token && !tokensMatch(requestToken(req)?.token, token)) {
      rejectUpgrade(socket, 401, 'Unauthorized');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    const client: Client = { ws, runFilter: null, alive: true };
    this.clients.add(client);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => this.receive(client, data, isBinary));
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => {
      this.clients.delete(client);
      ws.terminate();
    });
    this.sendTo(client, this.options.snapshot());
  }

  private receive(client: Client, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.sendTo(client, this.options.errorMessage('binary messages are not accepted; send JSON text'));
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      this.sendTo(client, this.options.errorMessage('message is not valid JSON'));
      return;
    }
    const parsed = ClientMessage.safeParse(json);
    if (!parsed.success) {
      this.sendTo(
        client,
        this.options.errorMessage('invalid message; expected {type:"ping"|"subscribe"|"snapshot"}', {
          issues: zodIssues(parsed.error),
        }),
      );
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'ping':
        this.sendTo(client, this.options.pongMessage(msg.id));
        return;
      case 'subscribe':
        client.runFilter = msg.runId ?? null;
        return;
      case 'snapshot':
        this.sendTo(client, this.options.snapshot());
        return;
      default: {
        const never: never = msg;
        throw new Error(`unhandled client message ${JSON.stringify(never)}`);
      }
    }
  }

  private checkAlive(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        this.clients.delete(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  private serialize(msg: M): string | undefined {
    const checked = this.options.schema.safeParse(msg);
    if (!checked.success) {
      console.error(`[ws] refusing to send an invalid ${msg.type} message:`, zodIssues(checked.error));
      return undefined;
    }
    return JSON.stringify(msg);
  }

  private sendTo(client: Client, msg: M): void {
    const text = this.serialize(msg);
    if (text !== undefined && client.ws.readyState === WebSocket.OPEN)
      this.sendFrame(client.ws, Buffer.from(text));
  }

  /**
   * Sends one text frame with the client's socket corked until the end of this turn of the event loop: a run
   * emits its events in bursts, and without corking every frame to every client is its own write syscall,
   * which dominated the CPU time of a burst of runs with 50 clients (bench:load). Order is unchanged.
   */
  private sendFrame(ws: WebSocket, data: Buffer): void {
    const socket = (ws as unknown as { _socket?: Duplex })._socket;
    if (socket && !this.corked.has(socket)) {
      socket.cork();
      this.corked.add(socket);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.uncorkAll());
      }
    }
    ws.send(data, { binary: false });
  }

  private uncorkAll(): void {
    this.flushScheduled = false;
    for (const socket of this.corked) socket.uncork();
    this.corked.clear();
  }

  /** Sends a message to every client; `node.*` messages only to clients following that run (or all runs). */
  broadcast(msg: M): void {
    if (this.clients.size === 0) return;
    const text = this.serialize(msg);
    if (text === undefined) return;
    // Encoded once for every client.
    const data = Buffer.from(text);
    const nodeScoped = msg.type.startsWith('node.');
    const isProgress = msg.type === 'node.progress';
    for (const c of this.clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      if (nodeScoped && c.runFilter !== null && c.runFilter !== msg.runId) continue;
      const buffered = c.ws.bufferedAmount;
      if (buffered > DROP_CLIENT_BYTES) {
        c.ws.terminate();
        this.clients.delete(c);
        continue;
      }
      if (isProgress && buffered > SKIP_PROGRESS_BYTES) continue;
      this.sendFrame(c.ws, data);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.uncorkAll();
    this.options.server.off('upgrade', this.onUpgrade);
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
