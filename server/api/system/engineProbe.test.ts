import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../../../tests/helpers/tempDir.ts';
import { type EngineConnection, engineProbe } from './engineProbe.ts';

let tmp: ReturnType<typeof makeTempDir>;
let binary: string;
beforeEach(() => {
  tmp = makeTempDir('loraflow-probe-');
  binary = join(tmp.dir, 'loraflow-engine');
});
afterEach(() => tmp.cleanup());

function fake(hello: EngineConnection['hello']): {
  client: object;
  connection: EngineConnection;
  calls: number;
} {
  const f = {
    client: { request: () => Promise.resolve({}) },
    calls: 0,
    connection: {
      hello: (o: { timeoutMs: number }) => {
        f.calls++;
        return hello(o);
      },
      close: async () => {},
    },
  };
  return f;
}

describe('engineProbe', () => {
  it('reports a missing binary without starting anything', async () => {
    const f = fake(async () => ({ devices: [] }));
    const s = await engineProbe(binary, f).status();
    expect(s).toMatchObject({ status: 'missing', binary });
    expect(f.calls).toBe(0);
  });

  it('reports version and devices from hello, and remembers them', async () => {
    writeFileSync(binary, '');
    const f = fake(async ({ timeoutMs }) => {
      expect(timeoutMs).toBeGreaterThan(0);
      return { version: '0.1.0', devices: [{ name: 'H200', kind: 'cuda:0', memoryBytes: 1 }] };
    });
    const probe = engineProbe(binary, f);
    expect(probe.services()).toEqual({ engine: f.client });
    expect(await probe.status()).toEqual({
      status: 'ok',
      binary,
      version: '0.1.0',
      devices: [{ name: 'H200', kind: 'cuda:0', memoryBytes: 1 }],
    });
    await probe.status();
    expect(f.calls).toBe(1);
  });

  it('turns a failing hello into an error status, never a rejection', async () => {
    writeFileSync(binary, '');
    const probe = engineProbe(
      binary,
      fake(async () => {
        throw new Error('hello timed out after 3000 ms');
      }),
    );
    expect(await probe.status()).toEqual({
      status: 'error',
      binary,
      message: 'hello timed out after 3000 ms',
    });
    expect(engineProbe(binary).services()).toEqual({});
  });

  it('answers "starting" while a slow first hello goes on, then reports its result', async () => {
    writeFileSync(binary, '');
    vi.useFakeTimers();
    try {
      let answer: (v: { devices: [] }) => void = () => {};
      const f = fake(() => new Promise((resolve) => (answer = resolve)));
      const probe = engineProbe(binary, f);
      const first = probe.status();
      await vi.advanceTimersByTimeAsync(2500);
      expect(await first).toMatchObject({ status: 'error', message: expect.stringContaining('starting') });
      const second = probe.status();
      answer({ devices: [] });
      expect(await second).toMatchObject({ status: 'ok', devices: [] });
      expect(f.calls).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
