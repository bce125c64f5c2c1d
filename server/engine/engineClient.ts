/**
 * Client of the native engine (`loraflow-engine serve`). Spawns it through the process gateway on the
 * first request, correlates replies by id, streams progress/log/event messages, applies timeouts,
 * turns an abort into a `cancel` request, validates every line with zod, and detects crashes: every
 * pending request is then rejected with the exit code/signal and the last stderr lines, and the
 * engine is restarted lazily by the next request.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import { describeExit, type ExitInfo, launchProcess, type ManagedProcess } from './processGateway.ts';
import {
  type EngineMessage,
  type ErrorCode,
  HelloResult,
  type LogMessage,
  type ProgressMessage,
  parseEngineLine,
} from './protocol.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** The engine binary: $LORAFLOW_ENGINE_BIN, else native/build/loraflow-engine in this checkout. */
export function defaultEngineBinary(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.LORAFLOW_ENGINE_BIN;
  if (fromEnv && fromEnv.length > 0) return resolve(fromEnv);
  return join(REPO_ROOT, 'native', 'build', 'loraflow-engine');
}

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: ErrorCode | (string & {}),
    message: string,
    readonly details: {
      hint?: string;
      op?: string;
      requestId?: string;
      stderrTail?: string[];
      exit?: ExitInfo;
    } = {},
  ) {
    super(message);
  }
  get hint(): string | undefined {
    return this.details.hint;
  }
}

export interface EngineClientOptions {
  /** Engine work directory (`serve --work-dir`): bulk outputs are written under it. */
  workDir: string;
  /** Binary to run (default: defaultEngineBinary()). */
  binPath?: string;
  /**
   * Full command override for tests (e.g. a fake engine run by node): when set, `command` is spawned with
   * `commandArgs` and binPath/workDir/threads are not added.
   */
  command?: string;
  commandArgs?: string[];
  /** Intra-op threads for the engine (`serve --threads`). */
  threads?: number;
  env?: NodeJS.ProcessEnv;
  /** Default per-request timeout in ms (default: none). */
  defaultTimeoutMs?: number;
  /** Trailing stderr lines kept for crash reports (default 40). */
  stderrLines?: number;
  /** Every engine stderr line (its log). */
  onStderrLine?: (line: string) => void;
  /** Messages that match no pending request, and lines that fail validation. */
  onUnmatched?: (info: { message?: EngineMessage; error?: string; line: string }) => void;
  /** Called after the engine process has exited unexpectedly. */
  onCrash?: (exit: ExitInfo) => void;
}

export interface RequestOptions {
  onProgress?: (p: { value: number; max: number; text?: string }) => void;
  onLog?: (l: { level: string; message: string }) => void;
  onEvent?: (data: Record<string, unknown>) => void;
  /** Aborting sends `cancel` to the engine and rejects with code "cancelled". */
  signal?: AbortSignal;
  /** Rejects with code "timeout" (and cancels the op) after this many ms. */
  timeoutMs?: number;
}

interface Pending {
  id: string;
  op: string;
  opts: RequestOptions;
  resolve: (v: unknown) => void;
  reject: (e: EngineError) => void;
  /** Settled on the client side (timeout/abort) but the engine has not answered yet. */
  settled: boolean;
  cleanup: () => void;
}

export class EngineClient {
  private proc: ManagedProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private starts = 0;
  private closed = false;

  constructor(private readonly opts: EngineClientOptions) {}

  /** Process id of the running engine, if any. */
  get pid(): number | undefined {
    return this.proc?.running ? this.proc.pid : undefined;
  }
  /** How many times the engine process was started. */
  get startCount(): number {
    return this.starts;
  }
  get binary(): string {
    return this.opts.binPath ?? defaultEngineBinary(this.opts.env ?? process.env);
  }

  /**
   * Sends `op` with `args` and resolves with its result (validated with `schema` when given).
   * Rejects with EngineError: the engine's codes (bad_request, bad_file, ...) or the client's
   * (timeout, cancelled, engine_crashed, engine_unavailable, protocol_error).
   */
  request<T = unknown>(
    op: string,
    args: Record<string, unknown> = {},
    opts: RequestOptions = {},
    schema?: z.ZodType<T>,
  ): Promise<T> {
    if (this.closed)
      return Promise.reject(new EngineError('engine_unavailable', 'the engine client is closed', { op }));
    if (opts.signal?.aborted)
      return Promise.reject(new EngineError('cancelled', `${op} was cancelled`, { op }));
    let proc: ManagedProcess;
    try {
      proc = this.ensureStarted();
    } catch (e) {
      return Promise.reject(e);
    }
    const id = `r${this.nextId++}`;
    return new Promise<T>((resolvePromise, rejectPromise) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => this.settleLocally(id, 'cancelled', `${op} was cancelled`);
      const p: Pending = {
        id,
        op,
        opts,
        settled: false,
        resolve: (v) => {
          if (!schema) {
            resolvePromise(v as T);
            return;
          }
          const r = schema.safeParse(v);
          if (r.success) resolvePromise(r.data);
          else
            rejectPromise(
              new EngineError('protocol_error', `unexpected result for ${op}: ${r.error.message}`, {
                op,
                requestId: id,
              }),
            );
        },
        reject: rejectPromise,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
        },
      };
      this.pending.set(id, p);
      const timeoutMs = opts.timeoutMs ?? this.opts.defaultTimeoutMs;
      if (timeoutMs !== undefined && timeoutMs > 0) {
        timer = setTimeout(
          () => this.settleLocally(id, 'timeout', `${op} timed out after ${timeoutMs} ms`),
          timeoutMs,
        );
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      proc.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** `hello`: engine version, libtorch version, devices. */
  hello(opts: RequestOptions = {}): Promise<HelloResult> {
    return this.request('hello', {}, { timeoutMs: 30_000, ...opts }, HelloResult);
  }

  /** Writes a raw line to the engine's stdin (diagnostics and protocol tests). Starts the engine if needed. */
  sendRaw(line: string): void {
    this.ensureStarted().stdin.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** Asks the engine to shut down (cancelling the running op), waits for it, kills it after `graceMs`. */
  async shutdown(graceMs = 5000): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    proc.expectExit();
    proc.stdin.write(`${JSON.stringify({ id: `r${this.nextId++}`, op: 'shutdown', args: {} })}\n`);
    const timer = setTimeout(() => void proc.stop('SIGKILL', 0), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }

  /** Shuts the engine down and refuses further requests. */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    await this.shutdown(graceMs);
  }

  // ---- internals ----

  private ensureStarted(): ManagedProcess {
    if (this.proc?.running) return this.proc;
    let command: string;
    let args: string[];
    if (this.opts.command) {
      command = this.opts.command;
      args = this.opts.commandArgs ?? [];
    } else {
      command = this.binary;
      if (!existsSync(command)) {
        throw new EngineError(
          'engine_unavailable',
          `engine binary not found at ${command}; build it with "npm run setup" (or set LORAFLOW_ENGINE_BIN)`,
        );
      }
      args = ['serve', '--work-dir', this.opts.workDir];
      if (this.opts.threads !== undefined) args.push('--threads', String(this.opts.threads));
    }
    const launchOpts: Parameters<typeof launchProcess>[2] = { stderrLines: this.opts.stderrLines ?? 40 };
    if (this.opts.env) launchOpts.env = this.opts.env;
    if (this.opts.onStderrLine) launchOpts.onStderrLine = this.opts.onStderrLine;
    const proc = launchProcess(command, args, launchOpts);
    this.proc = proc;
    this.starts++;
    const rl = createInterface({ input: proc.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    rl.on('line', (line) => this.onLine(line));
    void proc.exited.then((exit) => this.onExit(proc, exit));
    return proc;
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    const parsed = parseEngineLine(line);
    if (!parsed.ok) {
      const p = parsed.id !== undefined ? this.pending.get(String(parsed.id)) : undefined;
      if (p)
        this.finish(
          p,
          new EngineError('protocol_error', `engine sent ${parsed.error}`, { op: p.op, requestId: p.id }),
        );
      this.opts.onUnmatched?.({ error: parsed.error, line });
      return;
    }
    const m = parsed.message;
    const p = m.id === null ? undefined : this.pending.get(String(m.id));
    if (!p) {
      this.opts.onUnmatched?.({ message: m, line });
      return;
    }
    switch (m.type) {
      case 'progress':
        if (!p.settled) this.safeCall(() => p.opts.onProgress?.(progressOf(m)));
        break;
      case 'log':
        if (!p.settled) this.safeCall(() => p.opts.onLog?.(logOf(m)));
        break;
      case 'event':
        if (!p.settled) this.safeCall(() => p.opts.onEvent?.(m.data));
        break;
      case 'result':
        this.finish(p, undefined, m.result);
        break;
      case 'error': {
        const details: EngineError['details'] = { op: p.op, requestId: p.id };
        if (m.error.hint !== undefined) details.hint = m.error.hint;
        this.finish(p, new EngineError(m.error.code, m.error.message, details));
        break;
      }
    }
  }

  private finish(p: Pending, err: EngineError | undefined, result?: unknown): void {
    this.pending.delete(p.id);
    p.cleanup();
    if (p.settled) return;
    p.settled = true;
    if (err) p.reject(err);
    else p.resolve(result);
  }

  /** Timeout or abort: reject now, tell the engine to stop, and drop its eventual reply. */
  private settleLocally(id: string, code: 'timeout' | 'cancelled', message: string): void {
    const p = this.pending.get(id);
    if (!p || p.settled) return;
    p.settled = true;
    p.cleanup();
    p.reject(new EngineError(code, message, { op: p.op, requestId: id }));
    if (this.proc?.running)
      this.proc.stdin.write(`${JSON.stringify({ id: `c${id}`, op: 'cancel', args: { id } })}\n`);
  }

  private onExit(proc: ManagedProcess, exit: ExitInfo): void {
    if (this.proc === proc) this.proc = undefined;
    const requested = exit.kind === 'requested';
    const tail = exit.stderrTail.slice(-20);
    const msg = requested
      ? 'the engine was stopped'
      : `the engine ${exit.kind === 'spawn_failed' ? 'failed to start' : 'crashed'} (${describeExit(exit)})` +
        (tail.length ? `; last stderr lines:\n${tail.join('\n')}` : '');
    for (const p of [...this.pending.values()]) {
      this.finish(
        p,
        new EngineError(requested ? 'cancelled' : 'engine_crashed', msg, {
          op: p.op,
          requestId: p.id,
          stderrTail: tail,
          exit,
        }),
      );
    }
    if (!requested) this.safeCall(() => this.opts.onCrash?.(exit));
  }

  private safeCall(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.opts.onStderrLine?.(`[engine client] callback threw: ${(e as Error).message}`);
    }
  }
}

function progressOf(m: ProgressMessage): { value: number; max: number; text?: string } {
  return m.text === undefined ? { value: m.value, max: m.max } : { value: m.value, max: m.max, text: m.text };
}
function logOf(m: LogMessage): { level: string; message: string } {
  return { level: m.level, message: m.message };
}
