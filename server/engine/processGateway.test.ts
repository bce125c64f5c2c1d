import { describe, expect, it } from 'vitest';
import { describeExit, launchProcess, runProcess } from './processGateway.ts';

const node = process.execPath;

describe('processGateway', () => {
  it('runs an argument vector without a shell', async () => {
    const r = await runProcess(node, [
      '-e',
      'console.log(process.argv.slice(1).join("|"))',
      '$(echo hi)',
      'a b;c',
    ]);
    expect(r.kind).toBe('exited');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('$(echo hi)|a b;c');
  });

  it('keeps the last stderr lines and reports a crash with its exit code', async () => {
    const script = 'for (let i = 0; i < 100; i++) console.error("line " + i); process.exit(7)';
    const r = await runProcess(node, ['-e', script], { stderrLines: 5 });
    expect(r.kind).toBe('crashed');
    expect(r.code).toBe(7);
    expect(r.stderrTail).toEqual(['line 95', 'line 96', 'line 97', 'line 98', 'line 99']);
    expect(describeExit(r)).toBe('exit code 7');
  });

  it('tells a requested stop from a crash by signal', async () => {
    const a = launchProcess(node, ['-e', 'setInterval(() => {}, 1000)']);
    const stopped = await a.stop();
    expect(stopped.kind).toBe('requested');
    expect(stopped.signal).toBe('SIGTERM');
    const b = launchProcess(node, ['-e', 'setInterval(() => {}, 1000)']);
    process.kill(b.pid!, 'SIGKILL');
    const crashed = await b.exited;
    expect(crashed.kind).toBe('crashed');
    expect(crashed.signal).toBe('SIGKILL');
    expect(describeExit(crashed)).toContain('SIGKILL');
  });

  it('escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const p = launchProcess(node, [
      '-e',
      'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)',
    ]);
    await new Promise((r) => p.stdout.once('data', r));
    const e = await p.stop('SIGTERM', 200);
    expect(e.kind).toBe('requested');
    expect(e.signal).toBe('SIGKILL');
  });

  it('reports a program that cannot be started', async () => {
    const r = await runProcess('/nonexistent/program', []);
    expect(r.kind).toBe('spawn_failed');
    expect(describeExit(r)).toContain('could not start');
  });

  it('times out and refuses NUL bytes in arguments', async () => {
    const r = await runProcess(node, ['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 100 });
    expect(r.timedOut).toBe(true);
    expect(() => launchProcess(node, ['a\0b'])).toThrow(/NUL/);
  });

  it('passes stdin input through', async () => {
    const r = await runProcess(node, ['-e', 'process.stdin.pipe(process.stdout)'], { input: 'hello\n' });
    expect(r.stdout).toBe('hello\n');
  });
});
