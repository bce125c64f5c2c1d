import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { defaultEngineBinary, EngineClient, EngineError } from './engineClient.ts';
import { SafetensorsInfoResult, SleepResult } from './protocol.ts';

const BIN = defaultEngineBinary();
const HAVE_BIN = existsSync(BIN);
if (!HAVE_BIN) {
  console.warn(
    `[engine tests] skipped: engine binary not built at ${BIN} (npm test builds it; or run "npm run setup")`,
  );
}

async function expectEngineError(p: Promise<unknown>, code: string): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    expect((e as EngineError).code).toBe(code);
    return e as EngineError;
  }
  throw new Error(`expected EngineError(${code})`);
}

describe.skipIf(!HAVE_BIN)('EngineClient against the real engine', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let client: EngineClient;
  const unmatched: string[] = [];

  beforeAll(() => {
    tmp = makeTempDir('loraflow-engine-');
    client = new EngineClient({
      workDir: tmp.dir,
      threads: 1,
      onUnmatched: (u) => unmatched.push(u.line),
    });
  });
  afterAll(async () => {
    await client.close();
    tmp.cleanup();
  });

  it('hello reports versions and devices', async () => {
    const h = await client.hello();
    expect(h.engine_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(h.libtorch_version).toMatch(/^\d+\.\d+/);
    expect(h.devices[0]?.type).toBe('cpu');
    expect(h.ops).toEqual(expect.arrayContaining(['hello', 'sleep', 'cancel', 'shutdown']));
    expect(typeof h.cuda_available).toBe('boolean');
  });

  it('an unknown op is an error and the engine keeps serving', async () => {
    const pid = client.pid;
    const e = await expectEngineError(client.request('no_such_op'), 'unknown_op');
    expect(e.message).toContain('no_such_op');
    const h = await client.hello();
    expect(h.devices.length).toBeGreaterThan(0);
    expect(client.pid).toBe(pid);
  });

  it('streams progress and returns the result', async () => {
    const progress: number[] = [];
    const r = await client.request(
      'sleep',
      { ms: 300 },
      { onProgress: (p) => progress.push(p.value) },
      SleepResult,
    );
    expect(r.slept_ms).toBe(300);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.length).toBeLessThanOrEqual(300 / 50 + 3);
    expect(progress.at(-1)).toBe(300);
  });

  it('aborting the signal cancels a long op, and the engine serves the next request', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = client.request('sleep', { ms: 60_000 }, { signal: ac.signal, onProgress: () => ac.abort() });
    await expectEngineError(p, 'cancelled');
    const r = await client.request('sleep', { ms: 10 }, {}, SleepResult);
    expect(r.slept_ms).toBe(10);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('a timeout rejects and cancels the op', async () => {
    const e = await expectEngineError(client.request('sleep', { ms: 60_000 }, { timeoutMs: 200 }), 'timeout');
    expect(e.message).toContain('200 ms');
    expect((await client.hello()).engine_version).toBeTruthy();
  });

  it('engine errors carry code and message (bad file named)', async () => {
    const e = await expectEngineError(
      client.request(
        'safetensors_info',
        { path: `${tmp.dir}/missing.safetensors` },
        {},
        SafetensorsInfoResult,
      ),
      'not_found',
    );
    expect(e.message).toContain('missing.safetensors');
    await expectEngineError(client.request('safetensors_info', {}), 'bad_request');
  });

  it('a malformed line gets an unmatched error reply and the engine keeps serving', async () => {
    unmatched.length = 0;
    client.sendRaw('this is not json');
    const h = await client.hello();
    expect(h.engine_version).toBeTruthy();
    expect(unmatched.some((l) => l.includes('"bad_request"'))).toBe(true);
  });

  it('detects a crash (SIGKILL), reports it with stderr, and restarts lazily', async () => {
    // stdout_noise writes to the engine's stderr (stdout is reserved for the protocol).
    await client.request('sleep', { ms: 1, stdout_noise: true });
    const pid = client.pid;
    expect(pid).toBeDefined();
    const starts = client.startCount;
    const p = client.request('sleep', { ms: 60_000 }, { onProgress: () => process.kill(pid!, 'SIGKILL') });
    const e = await expectEngineError(p, 'engine_crashed');
    expect(e.message).toContain('SIGKILL');
    expect(e.message).toContain('noise from std::cout');
    expect(e.details.stderrTail?.length).toBeGreaterThan(0);
    const h = await client.hello();
    expect(h.engine_version).toBeTruthy();
    expect(client.startCount).toBe(starts + 1);
    expect(client.pid).not.toBe(pid);
  });

  it('requests run in arrival order', async () => {
    const order: string[] = [];
    await Promise.all([
      client.request('sleep', { ms: 100 }).then(() => order.push('a')),
      client.request('sleep', { ms: 1 }).then(() => order.push('b')),
      client.hello().then(() => order.push('c')),
    ]);
    expect(order).toEqual(['a', 'b', 'c']);
  });
});

describe('EngineClient with a fake engine', () => {
  let client: EngineClient | undefined;
  afterEach(async () => {
    await client?.close(500);
    client = undefined;
  });

  // A node script standing in for the engine: answers with garbage, an invalid message, then valid replies.
  const FAKE = `
    const rl = require('node:readline').createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      const req = JSON.parse(line);
      if (req.op === 'garbage') {
        process.stdout.write('not json at all\\n');
        process.stdout.write(JSON.stringify({ id: req.id, type: 'progress', value: 'x' }) + '\\n');
        return;
      }
      if (req.op === 'die') { process.stderr.write('fatal: simulated failure\\n'); process.exit(3); }
      if (req.op === 'shutdown') process.exit(0);
      process.stdout.write(JSON.stringify({ id: req.id, type: 'log', level: 'info', message: 'hi' }) + '\\n');
      process.stdout.write(JSON.stringify({ id: req.id, type: 'event', data: { kind: 'metrics', loss: 1 } }) + '\\n');
      process.stdout.write(JSON.stringify({ id: req.id, type: 'result', result: { echo: req.args } }) + '\\n');
    });`;

  it('validates every line: invalid messages fail their request with protocol_error', async () => {
    const bad: string[] = [];
    client = new EngineClient({
      workDir: '.',
      command: process.execPath,
      commandArgs: ['-e', FAKE],
      onUnmatched: (u) => bad.push(u.error ?? ''),
    });
    const e = await expectEngineError(client.request('garbage'), 'protocol_error');
    expect(e.message).toContain('invalid message');
    expect(bad.some((b) => b.startsWith('not JSON'))).toBe(true);
    const logs: string[] = [];
    const events: unknown[] = [];
    const r = await client.request(
      'echo',
      { a: 1 },
      { onLog: (l) => logs.push(l.message), onEvent: (d) => events.push(d) },
    );
    expect(r).toEqual({ echo: { a: 1 } });
    expect(logs).toEqual(['hi']);
    expect(events).toEqual([{ kind: 'metrics', loss: 1 }]);
  });

  it('a non-zero exit rejects pending requests with the exit code and stderr', async () => {
    client = new EngineClient({ workDir: '.', command: process.execPath, commandArgs: ['-e', FAKE] });
    const e = await expectEngineError(client.request('die'), 'engine_crashed');
    expect(e.message).toContain('exit code 3');
    expect(e.message).toContain('fatal: simulated failure');
    expect(await client.request('echo', { b: 2 })).toEqual({ echo: { b: 2 } });
    expect(client.startCount).toBe(2);
  });

  it('a missing binary is a clear error', async () => {
    client = new EngineClient({ workDir: '.', binPath: '/nonexistent/loraflow-engine' });
    const e = await expectEngineError(client.hello(), 'engine_unavailable');
    expect(e.message).toContain('/nonexistent/loraflow-engine');
  });

  it('an already aborted signal never reaches the engine', async () => {
    client = new EngineClient({ workDir: '.', command: process.execPath, commandArgs: ['-e', FAKE] });
    const ac = new AbortController();
    ac.abort();
    await expectEngineError(client.request('echo', {}, { signal: ac.signal }), 'cancelled');
    expect(client.startCount).toBe(0);
  });
});
