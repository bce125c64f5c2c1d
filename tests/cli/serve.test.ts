import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/config/config.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient } from '../integration/serverHarness.ts';

let tmp: ReturnType<typeof makeTempDir>;
const children: ChildProcess[] = [];
beforeAll(() => {
  tmp = makeTempDir('loraflow-serve-');
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  tmp.cleanup();
});

type Started = { child: ChildProcess; url: string; output: () => string };

/** Spawns `loraflow serve` and resolves once it printed its URL (or rejects with its output if it exits). */
function serve(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'loraflow.mjs'), 'serve', ...args], {
    cwd: tmp.dir,
    env: {
      ...process.env,
      LORAFLOW_TEST_NODES: '1',
      LORAFLOW_TOKEN: '',
      LORAFLOW_DATA: '',
      LORAFLOW_PORT: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const output = () => out;
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = /loraflow (http:\/\/\S+)/.exec(out);
      if (m?.[1] && /\n/.test(out.slice(out.indexOf(m[1])))) resolve({ child, url: m[1], output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) =>
      reject(Object.assign(new Error(`serve exited with ${code}: ${out}`), { code, out })),
    );
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

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

  it('resumes a run after the server is killed with SIGKILL mid-run', async () => {
    const doc = workflow()
      .node('first', 'test/basic/number', { value: 21 })
      .node('slow', 'test/basic/slow', { steps: 100, stepMs: 30 })
      .node('out', 'test/basic/sink')
      .link('first.value', 'slow.in')
      .link('slow.out', 'out.value')
      .build('killed');
    const a = await serve(['--port', '0', '--data', 'killed']);
    const ws = await EventClient.connect(a.url);
    const res = await fetch(`${a.url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: doc }),
    });
    const { runId } = (await res.json()) as { runId: string };
    await ws.waitFor((m) => m.type === 'node.progress' && m.runId === runId);
    ws.close();
    a.child.kill('SIGKILL');
    await exited(a.child);

    const b = await serve(['--port', '0', '--data', 'killed']);
    try {
      const ws2 = await EventClient.connect(b.url);
      const end = await ws2.runEnd(runId);
      ws2.close();
      expect(end.type).toBe('run.finished');
      const detail = (await (await fetch(`${b.url}/api/runs/${runId}`)).json()) as RunDetail;
      expect(detail.attempts).toBe(2);
      expect(Object.fromEntries(detail.nodes.map((n) => [n.nodeId, n.status]))).toEqual({
        first: 'cached',
        slow: 'done',
        out: 'done',
      });
    } finally {
      b.child.kill('SIGTERM');
      await exited(b.child);
    }
  });
});
