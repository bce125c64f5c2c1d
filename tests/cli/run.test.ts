import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/config/config.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { workflow } from '../helpers/workflowBuilder.ts';

let tmp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  tmp = makeTempDir('loraflow-cli-');
});
afterAll(() => tmp.cleanup());

/** Spawns the real `bin/loraflow.mjs` with the test nodes registered. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'loraflow.mjs'), ...args], {
      cwd: tmp.dir,
      env: { ...process.env, LORAFLOW_TEST_NODES: '1', LORAFLOW_DATA: '', LORAFLOW_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function file(name: string, value: unknown): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
}

const ndjson = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; nodeId?: string; status?: string; [k: string]: unknown });

const good = workflow()
  .node('a', 'test/basic/number', { value: 2 })
  .node('add', 'test/basic/add', { offset: 1 })
  .node('out', 'test/basic/sink')
  .link('a.value', 'add.a')
  .link('add.sum', 'out.value')
  .build('cli good');

const failing = workflow()
  .node('a', 'test/basic/number', { value: 2 })
  .node('bad', 'test/basic/fail', { message: 'the model file is corrupt' })
  .node('out', 'test/basic/sink')
  .node('ok', 'test/basic/sink')
  .link('a.value', 'bad.in')
  .link('bad.out', 'out.value')
  .link('a.value', 'ok.value')
  .build('cli failing');

// Each spawn compiles the CLI through tsx; on a loaded CI machine that takes seconds.
describe('loraflow run (spawned)', { timeout: 180_000 }, () => {
  it('runs a workflow file end to end and exits 0, then serves a re-run from the cache', async () => {
    const path = file('good.json', good);
    const first = await cli(['run', path, '--data', 'data', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const events = ndjson(first.stdout);
    expect(events[0]?.type).toBe('run.started');
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(events.find((e) => e.type === 'node.output' && e.nodeId === 'out')).toMatchObject({
      display: { value: { prompts: ['3'] } },
    });

    const again = await cli(['run', path, '--data', 'data', '--json']);
    expect(again.code).toBe(0);
    const nodeEvents = ndjson(again.stdout).filter((e) => e.type.startsWith('node.'));
    expect(nodeEvents.map((e) => `${e.type} ${e.nodeId}`).sort()).toEqual([
      'node.cached a',
      'node.cached add',
      'node.cached out',
    ]);
  });

  it('applies --set values, re-running only what changed, and prints plain lines without a TTY', async () => {
    const path = file('good.json', good);
    const r = await cli(['run', path, '--data', 'data', '--set', 'add.offset=40']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('a (test/basic/number) cached');
    expect(r.stdout).toMatch(/add \(test\/basic\/add\) done/);
    expect(r.stdout).toMatch(/run succeeded/);
    const bad = await cli(['run', path, '--data', 'data', '--set', 'add.ofset=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('has no param "ofset" (params: offset)');
  });

  it('exits non-zero with per-node errors when a node fails, and still finishes the other branch', async () => {
    const path = file('failing.json', failing);
    const plain = await cli(['run', path, '--data', 'data']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('bad (test/basic/fail): the model file is corrupt');
    expect(plain.stderr).toMatch(/run failed/);
    expect(plain.stdout).toMatch(/ok \(test\/basic\/sink\) done/);

    const json = await cli(['run', path, '--data', 'data2', '--json']);
    expect(json.code).toBe(1);
    const end = ndjson(json.stdout).at(-1);
    expect(end).toMatchObject({
      type: 'run.failed',
      status: 'failed',
      nodes: { a: 'done', bad: 'failed', out: 'skipped', ok: 'done' },
      nodeErrors: [{ nodeId: 'bad', error: { message: 'the model file is corrupt' } }],
    });
  });

  it('validates, and explains a missing or broken workflow file', async () => {
    const invalid = file(
      'invalid.json',
      workflow().node('n', 'test/basic/number', { value: 'three' }).node('add', 'test/basic/add').build(),
    );
    const v = await cli(['validate', invalid]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('node n (test/basic/number) params.value');
    expect(v.stderr).toContain('node add (test/basic/add) inputs.a');
    expect((await cli(['validate', file('good.json', good)])).code).toBe(0);

    const runInvalid = await cli(['run', invalid, '--data', 'data']);
    expect(runInvalid.code).toBe(1);
    expect(runInvalid.stderr).toContain('params.value');

    const missing = await cli(['run', 'nope.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.json: no such file');
    const broken = await cli(['run', file('broken.json', '{ not json')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('not valid JSON');
    const usage = await cli(['run']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give the workflow file');
  });

  it('lists node types', async () => {
    const r = await cli(['nodes', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { nodes: { type: string }[] };
    expect(d.nodes.map((n) => n.type)).toContain('test/basic/slow');
  });
});
