/**
 * The single place where loraflow launches child processes. Everything that runs another program goes
 * through `launchProcess` (long-lived, streaming) or `runProcess` (run to completion).
 *
 * - Always an argument vector, never a shell (`shell: false`); arguments containing NUL are refused.
 * - Keeps the last N lines of stderr for error messages.
 * - Tells a requested stop (`stop()`) from a crash (unrequested exit with a non-zero code or a signal).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface LaunchOptions {
  cwd?: string;
  /** Full environment for the child (defaults to the parent's). */
  env?: NodeJS.ProcessEnv;
  /** How many trailing stderr lines to keep (default 50). */
  stderrLines?: number;
  /** Called with every stderr line as it arrives (e.g. to forward engine logs). */
  onStderrLine?: (line: string) => void;
}

export type ExitKind = 'requested' | 'exited' | 'crashed' | 'spawn_failed';

export interface ExitInfo {
  /** requested: stop() was called; exited: exited by itself with code 0; crashed: non-zero code or signal. */
  kind: ExitKind;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last stderr lines at exit time. */
  stderrTail: string[];
  /** Set when the program could not be started at all (ENOENT, EACCES, ...). */
  spawnError?: Error;
}

export interface ManagedProcess {
  readonly pid: number | undefined;
  readonly command: string;
  readonly args: readonly string[];
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves once, when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** True until the process has exited. */
  readonly running: boolean;
  stderrTail(): string[];
  /**
   * Requested stop: sends `signal` (default SIGTERM), then SIGKILL after `graceMs` (default 3000).
   * The exit is then reported with kind "requested".
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
  /** Marks the coming exit as requested without sending a signal (e.g. after asking the program to quit). */
  expectExit(): void;
}

/** Describes an exit for error messages: "exit code 3", "signal SIGKILL", "could not start: ...". */
export function describeExit(e: ExitInfo): string {
  if (e.spawnError) return `could not start: ${e.spawnError.message}`;
  if (e.signal) return `killed by signal ${e.signal}`;
  return `exit code ${e.code}`;
}

function checkArgs(command: string, args: readonly string[]): void {
  if (typeof command !== 'string' || command.length === 0)
    throw new TypeError('command must be a non-empty string');
  for (const a of [command, ...args]) {
    if (typeof a !== 'string') throw new TypeError('every argument must be a string');
    if (a.includes('\0')) throw new TypeError('arguments must not contain NUL bytes');
  }
}

/** Starts a long-lived process with piped stdio. */
export function launchProcess(
  command: string,
  args: readonly string[],
  opts: LaunchOptions = {},
): ManagedProcess {
  checkArgs(command, args);
  const keep = Math.max(1, opts.stderrLines ?? 50);
  const tail: string[] = [];
  let partial = '';
  let requested = false;
  let running = true;

  const child: ChildProcessWithoutNullStreams = spawn(command, [...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    shell: false,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });

  const pushLine = (line: string): void => {
    tail.push(line);
    if (tail.length > keep) tail.splice(0, tail.length - keep);
    opts.onStderrLine?.(line);
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) pushLine(p.replace(/\r$/, ''));
  });
  // Writes to a dead child's stdin must not crash the server.
  child.stdin.on('error', () => {});

  let spawnError: Error | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      running = false;
      if (partial) {
        pushLine(partial);
        partial = '';
      }
      const kind: ExitKind = spawnError
        ? 'spawn_failed'
        : requested
          ? 'requested'
          : code === 0 && signal === null
            ? 'exited'
            : 'crashed';
      const info: ExitInfo = { kind, code, signal, stderrTail: [...tail] };
      if (spawnError) info.spawnError = spawnError;
      resolve(info);
    };
    child.on('error', (err) => {
      // 'error' without a pid means the spawn itself failed; 'close' may not follow.
      if (child.pid === undefined) {
        spawnError = err;
        finish(null, null);
      }
    });
    child.on('close', (code, signal) => finish(code, signal));
  });

  return {
    pid: child.pid,
    command,
    args: [...args],
    stdin: child.stdin,
    stdout: child.stdout,
    exited,
    get running() {
      return running;
    },
    stderrTail: () => [...tail],
    expectExit: () => {
      requested = true;
    },
    stop: async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000) => {
      requested = true;
      if (running) {
        child.kill(signal);
        const timer = setTimeout(() => {
          if (running) child.kill('SIGKILL');
        }, graceMs);
        const info = await exited;
        clearTimeout(timer);
        return info;
      }
      return exited;
    },
  };
}

export interface RunOptions extends LaunchOptions {
  /** Written to stdin, which is then closed. */
  input?: string | Uint8Array;
  /** Kills the process (SIGKILL) after this many milliseconds; the result then has timedOut = true. */
  timeoutMs?: number;
  /** Caps collected stdout (bytes, default 64 MiB). */
  maxStdoutBytes?: number;
}

export interface RunResult extends ExitInfo {
  stdout: string;
  timedOut: boolean;
}

/** Runs a program to completion and collects its stdout. Never rejects for a non-zero exit. */
export async function runProcess(
  command: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const p = launchProcess(command, args, opts);
  const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
  const chunks: Buffer[] = [];
  let size = 0;
  p.stdout.on('data', (b: Buffer) => {
    if (size < max) chunks.push(b);
    size += b.length;
  });
  if (opts.input !== undefined) p.stdin.end(opts.input);
  else p.stdin.end();
  let timedOut = false;
  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          void p.stop('SIGKILL', 0);
        }, opts.timeoutMs)
      : undefined;
  const info = await p.exited;
  if (timer) clearTimeout(timer);
  // 'close' (which resolved `exited`) fires only after the child's stdio streams have closed.
  return {
    ...info,
    kind: timedOut ? 'crashed' : info.kind,
    stdout: Buffer.concat(chunks).toString('utf8'),
    timedOut,
  };
}
