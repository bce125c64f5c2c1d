import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, type ServeProcess, spawnServe } from '../helpers/serveProcess.ts';
import { makeTempDir } from '../helpers/tempDir.ts';

let tmp: ReturnType<typeof makeTempDir>;
const children: ChildProcess[] = [];
beforeAll(() => {
  tmp = makeTempDir('loraflow-serve-');
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  tmp.cleanup();
});

/** Spawns `loraflow serve` in the temp dir (see tests/reliability/serverCrash.test.ts for SIGKILL mid-run). */
async function serve(args: string[]): Promise<ServeProcess> {
  const started = spawnServe(tmp.dir, args);
  started.then((s) => children.push(s.child)).catch(() => {});
  return started;
}

describe('loraflow serve (spawned)', { timeout: 180_000 }, () => {
  it('refuses to listen beyond loopback without a token', async () => {
    const err = (await serve(['--host', '0.0.0.0', '--port', '0', '--data', 'refused']).catch((e) => e)) as {
      code: number;
      out: string;
    };
    expect(err.code).toBe(1);
    expect(err.out).toContain('without a token');
  });

  it('prints a generated token once and requires it', async () => {
    const s = await serve(['--port', '0', '--data', 'auth', '--token', 'auto']);
    try {
      const token = /token: (\S+)/.exec(s.output())?.[1];
      expect(token).toBeTruthy();
      expect((await fetch(`${s.url}/api/system`)).status).toBe(401);
      const ok = await fetch(`${s.url}/api/system`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
    } finally {
      s.child.kill('SIGTERM');
      const code = await exited(s.child);
      expect(code, `${s.output()} signal=${s.child.signalCode}`).toBe(0);
    }
  });
});
