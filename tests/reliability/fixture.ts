import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll } from 'vitest';
import { createBuiltinRegistry } from '../../nodes/index.ts';
import { type LoraflowServer, startServer } from '../../server/app.ts';
import { loadConfig } from '../../server/config/config.ts';
import { defaultEngineBinary } from '../../server/engine/engineClient.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { sha256Hex } from '../../server/store/hash.ts';
import type { WorkflowDocument } from '../../server/workflow/schema.ts';
import { makeTempDir } from '../helpers/tempDir.ts';
import { testNodes } from '../helpers/testNodes.ts';
import { engineHasMakeModel, makeTinyModel } from '../helpers/tinyModel.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { EventClient, getJson, postRun } from '../integration/serverHarness.ts';

export const ENGINE_BIN = defaultEngineBinary();
/** How long a test waits for a tiny training run to end (a loaded 2-core CI machine is slow). */
export const TRAINING_TIMEOUT_MS = 90_000;

/** Whether the engine binary is built with `make-model` (the tiny model the engine tests train on). */
export function engineCanMakeModels(): boolean {
  return engineHasMakeModel(ENGINE_BIN);
}

/**
 * A data dir for the real server and engine: `models/tiny.safetensors` (a tiny SD1 checkpoint in the ldm
 * layout) and `datasets/set/2_sks/` with `n` captioned 64x64 PNGs.
 */
export async function makeTrainingDataDir(dataDir: string, n = 2): Promise<void> {
  await makeDataset(dataDir, n);
  mkdirSync(join(dataDir, 'models'), { recursive: true });
  makeTinyModel(ENGINE_BIN, join(dataDir, 'models', 'tiny.safetensors'));
}

/** `datasets/set/2_sks/` in `dataDir` with `n` captioned 64x64 PNGs (Load Images folder `set`). */
export async function makeDataset(dataDir: string, n = 2): Promise<void> {
  const folder = join(dataDir, 'datasets', 'set', '2_sks');
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < n; i++) {
    const raw = Buffer.alloc(64 * 64 * 3);
    for (let p = 0; p < 64 * 64; p++) {
      raw[p * 3] = (p * (i + 3)) & 255;
      raw[p * 3 + 1] = (p >> 6) * 4 + i * 40;
      raw[p * 3 + 2] = (p * 7) & 255;
    }
    await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toFile(join(folder, `img${i}.png`));
    writeFileSync(join(folder, `img${i}.txt`), `sks, pattern ${i}`);
  }
}

/** The real server over `dataDir` with the built-in nodes, the test nodes and (unless `engine: false`) the engine. */
export function startRealServer(dataDir: string, o: { engine?: false } = {}): Promise<LoraflowServer> {
  const config = loadConfig({
    cwd: dataDir,
    env: { LORAFLOW_ENGINE_BIN: ENGINE_BIN },
    overrides: { dataDir, port: 0, host: '127.0.0.1' },
  });
  return startServer({
    config,
    registry: createBuiltinRegistry().registerAll(testNodes),
    clientDist: null,
    ...o,
  });
}

/** Load Checkpoint + Load Images → LoRA Train → Save LoRA, saving the training state every 2 steps. */
export function trainingWorkflow(o: { steps: number; name?: string }) {
  return workflow()
    .node('ckpt', 'loraflow/model/load-checkpoint', { file: 'tiny.safetensors' })
    .node('imgs', 'loraflow/dataset/load-images', { folder: 'set' })
    .node('train', 'loraflow/train/lora', {
      output_name: o.name ?? 'crash-lora',
      network_dim: 4,
      network_alpha: 4,
      learning_rate: 1e-3,
      max_train_epochs: 0,
      max_train_steps: o.steps,
      train_batch_size: 1,
      save_every_n_steps: 2,
      save_precision: 'fp32',
      network_train_unet_only: true,
    })
    .node('save', 'loraflow/save/lora', { folder: 'loras' })
    .link('ckpt.model', 'train.model')
    .link('imgs.images', 'train.images')
    .link('train.lora', 'save.lora')
    .build('training');
}

/** Live child processes of `ppid` (Linux /proc), with their command names. */
export function childProcesses(ppid = process.pid): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse from the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[1]) !== ppid || fields[0] === 'Z') continue;
    out.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}

/** Engine processes started by this process. */
export function engineProcesses(): number[] {
  return childProcesses()
    .filter((c) => c.comm === 'loraflow-engine')
    .map((c) => c.pid);
}

/** Every file under `dir` (relative paths), recursively. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1));
}

/**
 * What is wrong between the artifact store's files and its index: rows without a whole blob, blobs without a
 * row, temp files left over, cache entries referencing an absent artifact. Empty when consistent.
 */
export function storeProblems(server: LoraflowServer): string[] {
  const { store, db } = server;
  const problems: string[] = [];
  const rows = new Map(store.list().map((r) => [r.hash, r.size]));
  for (const [hash, size] of rows) {
    const path = store.pathOf(hash);
    if (!existsSync(path)) problems.push(`row without blob: ${hash}`);
    else if (sha256Hex(readFileSync(path)) !== hash || readFileSync(path).length !== size)
      problems.push(`blob does not match its row: ${hash}`);
  }
  for (const rel of listFiles(store.root)) {
    const hash = rel.split(sep).join('');
    if (!rows.has(hash)) problems.push(`blob without row: ${rel}`);
  }
  for (const rel of listFiles(store.tmpDir)) problems.push(`left in tmp: ${rel}`);
  const refRows = db.sqlite
    .prepare(
      "SELECT 'cache ' || key AS owner, refs FROM cache_entries UNION ALL SELECT 'item ' || key, refs FROM item_cache",
    )
    .all() as { owner: string; refs: string }[];
  for (const { owner, refs } of refRows)
    for (const h of JSON.parse(refs) as string[])
      if (!rows.has(h)) problems.push(`${owner} references missing artifact ${h}`);
  return problems;
}

export type RealServerSuite = {
  /** The data dir (set once the suite has started). */
  dir: string;
  server: LoraflowServer;
  ws: EventClient;
  /** Queues `doc`, waits for its end and returns the run's detail. */
  run(doc: WorkflowDocument, timeoutMs?: number): Promise<RunDetail>;
};

/**
 * For a describe block: a temp data dir prepared by `prepare`, the real server over it and a websocket
 * client, started before its tests and closed after them (nothing is created when the block is skipped).
 */
export function realServerSuite(
  prefix: string,
  o: { prepare: (dataDir: string) => Promise<void>; engine?: false },
): RealServerSuite {
  let tmp: ReturnType<typeof makeTempDir> | undefined;
  const suite = {
    async run(doc: WorkflowDocument, timeoutMs?: number): Promise<RunDetail> {
      const runId = (await postRun(suite.server.url, doc)).body.runId!;
      await suite.ws.runEnd(runId, timeoutMs);
      return getJson<RunDetail>(suite.server.url, `/api/runs/${runId}`);
    },
  } as RealServerSuite;
  beforeAll(async () => {
    tmp = makeTempDir(prefix);
    suite.dir = tmp.dir;
    await o.prepare(tmp.dir);
    suite.server = await startRealServer(tmp.dir, o.engine === false ? { engine: false } : {});
    suite.ws = await EventClient.connect(suite.server.url);
  }, 60_000);
  afterAll(async () => {
    suite.ws?.close();
    await suite.server?.close();
    tmp?.cleanup();
  });
  return suite;
}
