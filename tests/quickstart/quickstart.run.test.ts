import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPngText } from '../../nodes/png/textChunks.ts';
import { type Evaluation, evaluateImage } from '../../scripts/demo/evaluate.ts';
import { writeDemoData } from '../../scripts/demo/write.ts';
import { repoRoot } from '../../server/config/config.ts';
import { defaultEngineBinary, EngineClient } from '../../server/engine/engineClient.ts';
import { makeTempDir } from '../helpers/tempDir.ts';

/**
 * The quickstart end to end through the CLI (`loraflow run workflows/quickstart.json`) on the bundled demo
 * model, then the honesty check of the issue: samples with the trigger are measurably closer to the concept
 * (star-yellow pixels, star template correlation) than samples without it and than the base model.
 */
const DEMO_MODEL = join(repoRoot, 'models', 'demo', 'loraflow-demo-sd1.safetensors');
const WORKFLOW = join(repoRoot, 'workflows', 'quickstart.json');
const ENGINE = defaultEngineBinary();
const NEEDED_OPS = ['load_model', 'vae_encode', 'train_lora', 'sample'];
/** Images per prompt line in the test: 4 seeds each for 2 trigger and 2 non-trigger prompts. */
const SEEDS = 4;

const tmp = makeTempDir('loraflow-quickstart-');
afterAll(() => tmp.cleanup());

async function whyNotRunnable(): Promise<string | undefined> {
  if (!existsSync(DEMO_MODEL))
    return `the demo model ${DEMO_MODEL} does not exist yet (npm run make:demo-model makes it)`;
  if (!existsSync(ENGINE)) return `no engine binary at ${ENGINE} (npm run build:native)`;
  const engine = new EngineClient({ workDir: join(tmp.dir, 'probe'), binPath: ENGINE, threads: 1 });
  try {
    const hello = (await engine.request('hello', {})) as { ops?: string[] };
    const missing = NEEDED_OPS.filter((op) => !hello.ops?.includes(op));
    if (missing.length > 0) return `the engine at ${ENGINE} lacks ops ${missing.join(', ')}: rebuild it`;
  } finally {
    await engine.close();
  }
  return undefined;
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'loraflow.mjs'), ...args], {
      cwd: tmp.dir,
      env: { ...process.env, LORAFLOW_DATA: '', LORAFLOW_CONFIG: '' },
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
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Failure lines from the NDJSON events, for a readable assertion message. */
function failures(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => l.includes('"node.failed"') || l.includes('"run.finished"'))
    .join('\n');
}

type Scored = { prompt: string; e: Evaluation };

async function samples(dir: string, prefix: string): Promise<Scored[]> {
  const out: Scored[] = [];
  for (const f of (await readdir(dir))
    .filter((n) => n.startsWith(`${prefix}_`) && n.endsWith('.png'))
    .sort()) {
    const png = await readFile(join(dir, f));
    const prompt = (getPngText(png, 'parameters') ?? '').split('\n')[0]!.trim();
    out.push({ prompt, e: await evaluateImage(png) });
  }
  return out;
}

function summary(set: Scored[]) {
  const mean = (f: (e: Evaluation) => number) =>
    set.reduce((s, x) => s + f(x.e), 0) / Math.max(1, set.length);
  return {
    n: set.length,
    yellow: mean((e) => e.starYellowFraction),
    star: mean((e) => e.starCorrelation),
    yellowStars: set.filter((x) => x.e.shape === 'star' && x.e.color === 'yellow').length,
  };
}

type RunEvent = { type: string; nodeId?: string; [k: string]: unknown };
const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as RunEvent);

describe('quickstart workflow end to end', { timeout: 900_000 }, () => {
  it('prepares the demo data through the CLI and names a missing checkpoint', async () => {
    const data = join(tmp.dir, 'missing-model');
    await writeDemoData({
      out: join(data, 'datasets', 'loraflow-demo'),
      seed: 3,
      count: 0,
      conceptCount: 12,
    });
    const r = await cli([
      'run',
      WORKFLOW,
      '--data',
      data,
      '--json',
      '--set',
      'ckpt.file=demo/not-there.safetensors',
    ]);
    expect(r.code).toBe(1);
    const ev = events(r.stdout);
    expect(ev.find((e) => e.type === 'node.failed' && e.nodeId === 'ckpt')).toMatchObject({
      error: {
        message: expect.stringContaining('demo/not-there.safetensors'),
      },
    });
    const output = (id: string) =>
      (
        ev.find((e) => e.type === 'node.output' && e.nodeId === id) as
          | { outputs: { images: { items: { caption: string; width: number; repeats: number }[] } } }
          | undefined
      )?.outputs.images.items ?? [];
    expect(output('load').map((i) => i.repeats)).toEqual(Array(12).fill(10));
    expect(output('crop').every((i) => i.width === 64)).toBe(true);
    const captions = output('edit').map((i) => i.caption);
    expect(captions).toHaveLength(12);
    for (const c of captions) expect(c).toMatch(/^zkz, a star on a [\w ]+ background$/);
  });

  it('trains a LoRA whose trigger samples are closer to the zkz star than the others', async (ctx) => {
    const reason = await whyNotRunnable();
    if (reason) ctx.skip(reason);

    const data = join(tmp.dir, 'data');
    await writeDemoData({
      out: join(data, 'datasets', 'loraflow-demo'),
      seed: 1,
      count: 0,
      conceptCount: 12,
    });
    const args = [
      'run',
      WORKFLOW,
      '--data',
      data,
      '--json',
      '--set',
      `sampleLora.batchCount=${SEEDS}`,
      '--set',
      `sampleBase.batchCount=${SEEDS}`,
    ];
    const cold = await cli(args);
    expect(cold.code, `${cold.stderr}\n${failures(cold.stdout)}`).toBe(0);

    const dir = join(data, 'outputs', 'quickstart');
    const lora = await samples(dir, 'lora');
    const base = await samples(dir, 'base');
    expect(lora).toHaveLength(4 * SEEDS);
    expect(base).toHaveLength(4 * SEEDS);
    const trigger = summary(lora.filter((s) => s.prompt.startsWith('zkz,')));
    const noTrigger = summary(lora.filter((s) => !s.prompt.includes('zkz')));
    const baseAll = summary(base);
    expect(trigger.n).toBe(2 * SEEDS);
    expect(noTrigger.n).toBe(2 * SEEDS);

    const cached = await cli(args);
    expect(cached.code, cached.stderr).toBe(0);
    console.log(
      `quickstart: cold ${(cold.ms / 1000).toFixed(1)} s, cached ${(cached.ms / 1000).toFixed(1)} s\n` +
        `  trigger    ${JSON.stringify(trigger)}\n  no trigger ${JSON.stringify(noTrigger)}\n  base model ${JSON.stringify(baseAll)}`,
    );

    // The concept's colour comes only from the LoRA (the base set has no yellow pixel), and only with the trigger.
    expect(trigger.yellow).toBeGreaterThan(Math.max(noTrigger.yellow, baseAll.yellow) + 0.01);
    expect(trigger.yellow).toBeGreaterThan(2 * Math.max(noTrigger.yellow, baseAll.yellow));
    // And its shape: trigger samples correlate better with the star template (0.59 against 0.25 and 0.47 on the
    // CPU, where the run is deterministic). The demo model's shapes are still rough (its model card), hence the
    // modest margin.
    expect(trigger.star).toBeGreaterThan(Math.max(noTrigger.star, baseAll.star) + 0.05);
  });
});
