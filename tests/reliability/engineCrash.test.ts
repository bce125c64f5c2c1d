import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsReader } from '../../server/engine/safetensors.ts';
import type { RunDetail } from '../../server/queue/runTypes.ts';
import { sha256Hex } from '../../server/store/hash.ts';
import { workflow } from '../helpers/workflowBuilder.ts';
import { getJson, postRun } from '../integration/serverHarness.ts';
import {
  engineCanMakeModels,
  engineProcesses,
  listFiles,
  makeTrainingDataDir,
  realServerSuite,
  TRAINING_TIMEOUT_MS,
  trainingWorkflow,
} from './fixture.ts';

const STEPS = 8;
/** Half-written files: the engine's mkstemp temps (`x.tmp-AbC123`) and loraflow's sibling temps (`.x.1f2e.tmp`). */
const TEMP_FILE = /\.tmp-[A-Za-z0-9]{6}$|\.tmp$/;

describe.skipIf(!engineCanMakeModels())('engine killed with SIGKILL mid-training', () => {
  const s = realServerSuite('loraflow-engine-crash-', { prepare: (dir) => makeTrainingDataDir(dir) });

  it('fails the node clearly, keeps the server up, and a re-run resumes from the last save', async () => {
    // Any step after the first save (step 2) and before the end; the assertions hold for each of them.
    const killAt = 3 + Math.floor(Math.random() * (STEPS - 5));
    console.info(`engine crash test: SIGKILL at training step ${killAt} of ${STEPS}`);
    const doc = trainingWorkflow({ steps: STEPS });

    const first = (await postRun(s.server.url, doc)).body.runId!;
    await s.ws.waitFor(
      (m) =>
        m.type === 'node.progress' &&
        m.runId === first &&
        m.nodeId === 'train' &&
        m.text === 'training' &&
        m.value >= killAt,
      60_000,
    );
    const engines = engineProcesses();
    expect(engines).toHaveLength(1);
    process.kill(engines[0]!, 'SIGKILL');

    const end = await s.ws.runEnd(first, TRAINING_TIMEOUT_MS);
    expect(end.type).toBe('run.failed');
    const failed = await getJson<RunDetail>(s.server.url, `/api/runs/${first}`);
    const train = failed.nodes.find((n) => n.nodeId === 'train')!;
    expect(train.status).toBe('failed');
    expect(train.error?.message).toMatch(/^LoRA Train: the engine crashed \(killed by signal SIGKILL\)/);
    expect(train.error?.message).toContain('run the workflow again to resume from the last saved state');
    expect(failed.nodes.find((n) => n.nodeId === 'save')?.status).toBe('skipped');
    // Nothing was published under a final name, and every file the engine had finished is whole.
    expect(listFiles(join(s.dir, 'outputs'))).toEqual([]);
    const finals = listFiles(join(s.dir, 'training')).filter((f) => f.endsWith('.safetensors'));
    expect(finals.some((f) => f.endsWith('state.safetensors'))).toBe(true);
    for (const f of finals)
      expect(SafetensorsReader.open(join(s.dir, 'training', f)).tensors.length).toBeGreaterThan(0);
    for (const { hash } of s.server.store.list())
      expect(sha256Hex(readFileSync(s.server.store.pathOf(hash)))).toBe(hash);
    // A kill that lands inside a save leaves the engine's temp file (mkstemp, `<file>.tmp-XXXXXX`) behind;
    // make that case certain rather than a matter of timing.
    const stateDir = dirname(join(s.dir, 'training', finals.find((f) => f.endsWith('state.safetensors'))!));
    writeFileSync(join(stateDir, 'state.safetensors.tmp-Ab12Cd'), 'half a state');
    writeFileSync(join(stateDir, 'output', 'crash-lora-step00000004.safetensors.tmp-Ef34Gh'), 'half a LoRA');

    // The server is still up and runs other work.
    expect((await fetch(`${s.server.url}/api/system`)).status).toBe(200);
    const quick = workflow()
      .node('n', 'test/basic/number', { value: 7 })
      .node('o', 'test/basic/sink')
      .link('n.value', 'o.value')
      .build();
    const other = (await postRun(s.server.url, quick)).body.runId!;
    expect((await s.ws.runEnd(other, TRAINING_TIMEOUT_MS)).type).toBe('run.finished');

    // Running the same workflow again resumes from the last saved state (saved every 2 steps).
    const again = (await postRun(s.server.url, doc)).body.runId!;
    expect((await s.ws.runEnd(again, TRAINING_TIMEOUT_MS)).type).toBe('run.finished');
    const done = await getJson<RunDetail>(s.server.url, `/api/runs/${again}`);
    const trained = done.nodes.find((n) => n.nodeId === 'train')!;
    const resumed = (trained.display as { resumedFromStep: number }).resumedFromStep;
    expect(resumed).toBeGreaterThanOrEqual(2);
    expect(resumed).toBeLessThan(STEPS);
    expect(resumed % 2).toBe(0);
    expect(trained.logs.some((l) => l.message.startsWith(`resumed at step ${resumed}`))).toBe(true);
    expect(engineProcesses()).toHaveLength(1);

    // The LoRA is whole: it parses, and it records all the steps.
    const saved = listFiles(join(s.dir, 'outputs'));
    expect(saved).toEqual([join('loras', 'crash-lora.safetensors')]);
    const lora = SafetensorsReader.open(join(s.dir, 'outputs', saved[0]!));
    expect(lora.metadata.ss_steps).toBe(String(STEPS));
    expect(lora.tensors.length).toBeGreaterThan(0);

    // No half-written file anywhere in the data dir, and every stored artifact matches its hash.
    expect(listFiles(s.dir).filter((f) => TEMP_FILE.test(f))).toEqual([]);
    const blobs = s.server.store.list();
    expect(blobs.length).toBeGreaterThan(0);
    for (const { hash } of blobs) expect(sha256Hex(readFileSync(s.server.store.pathOf(hash)))).toBe(hash);
  }, 120_000);
});
