import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel } from '../helpers/tinyModel.ts';
import {
  addNodeBySearch,
  badge,
  type Harness,
  nodeIds,
  nodeLocator,
  root,
  startHarness,
  textOf,
  wire,
} from './harness.ts';

/**
 * Issue 7's end-to-end path with the real engine: a tiny SD1 checkpoint made by `loraflow-engine make-model`,
 * a Load Checkpoint → Sample workflow built purely through the editor, run, and the sample image shown.
 */
const engineBin = process.env.LORAFLOW_ENGINE_BIN ?? join(root, 'native', 'build', 'loraflow-engine');
const haveEngine = existsSync(engineBin);
if (!haveEngine) {
  console.warn(`engineSample e2e skipped: no engine binary at ${engineBin} (npm run build:native)`);
}

let h: Harness;
let page: Page;

/** A tiny SD1 checkpoint plus its tokenizer folder (tiny.tokenizer/) in `<data>/models`. */
async function makeModelsDir(dataDir: string): Promise<void> {
  const models = join(dataDir, 'models');
  mkdirSync(models, { recursive: true });
  try {
    makeTinyModel(engineBin, join(models, 'tiny.safetensors'));
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    throw new Error(`${engineBin} make-model failed (an old build? npm run build:native):\n${stderr}`);
  }
}

describe.skipIf(!haveEngine)('editor end to end with the real engine', () => {
  beforeAll(async () => {
    h = await startHarness({
      engineBin,
      testNodes: false,
      prepare: makeModelsDir,
      viewport: { width: 1280, height: 800 },
    });
    page = h.page;
    await page.goto('/');
    await page
      .getByRole('navigation', { name: 'Node palette' })
      .getByRole('button', { name: 'Load Checkpoint' })
      .waitFor();
  });

  afterAll(async () => {
    await h?.close();
  });

  const shot = (name: string) => h.shot(name);

  it('builds Load Checkpoint → Sample through the UI, runs it on the engine and shows the image', async () => {
    await page.getByRole('button', { name: 'New', exact: true }).click();
    await expect.poll(() => nodeIds(page)).toEqual([]);

    const load = await addNodeBySearch(page, 220, 160, 'load checkpoint');
    await expect
      .poll(() => textOf(nodeLocator(page, load).locator('.wf-node-title')))
      .toBe('Load Checkpoint');
    const sample = await addNodeBySearch(page, 620, 60, 'sample');
    await expect.poll(() => textOf(nodeLocator(page, sample).locator('.wf-node-title'))).toBe('Sample');

    // The model picker lists the checkpoints found under the model roots.
    const picker = nodeLocator(page, load).locator(`#p-${load}-file`);
    await expect
      .poll(() => picker.locator('option').allTextContents(), { timeout: 15_000 })
      .toContain('tiny.safetensors');
    await picker.selectOption('tiny.safetensors');

    await wire(page, [load, 'model'], [sample, 'model']);
    await expect.poll(() => page.locator('.react-flow__edge').count(), { timeout: 15_000 }).toBe(1);

    const field = (param: string) => nodeLocator(page, sample).locator(`#p-${sample}-${param}`);
    await field('prompt').fill('a photo of a tiny dog');
    // Width and height start at "auto" (the model's own size): a ticked switch and an empty number showing "auto".
    const autoBox = (param: string) =>
      nodeLocator(page, sample).locator(`input[aria-label="p-${sample}-${param} auto"]`);
    await expect.poll(() => autoBox('width').isChecked()).toBe(true);
    expect(await field('width').inputValue()).toBe('');
    expect(await field('width').getAttribute('placeholder')).toBe('auto');
    await shot('engine-00-auto-size');
    // Typing a size replaces auto.
    await field('width').fill('64');
    await field('height').fill('64');
    await expect.poll(() => autoBox('width').isChecked()).toBe(false);
    expect(await autoBox('height').isChecked()).toBe(false);
    await field('steps').fill('2');
    await field('cfgScale').fill('1');
    await field('seed').fill('7');
    await expect.poll(() => nodeLocator(page, sample).locator('.field-error').count()).toBe(0);
    await shot('engine-01-built');

    // Record every state each node's badge shows, so a quick run's transitions are not missed between polls.
    await page.evaluate(
      (ids) => {
        const seen: Record<string, string[]> = {};
        (window as unknown as { __states: typeof seen }).__states = seen;
        const record = () => {
          for (const id of ids) {
            const sel = `.react-flow__node-workflow[data-id="${id}"] .wf-node-header .badge`;
            const text = document.querySelector(sel)?.textContent ?? '';
            const list = seen[id] ?? [];
            seen[id] = list;
            if (text && list.at(-1) !== text) list.push(text);
          }
        };
        new MutationObserver(record).observe(document.body, {
          subtree: true,
          childList: true,
          characterData: true,
          attributes: true,
        });
      },
      [load, sample],
    );
    await page.keyboard.press('Control+Enter');
    await expect
      .poll(() => textOf(badge(page, sample)), { timeout: 15_000 })
      .toMatch(/^(queued|running|done)$/);
    await expect.poll(() => textOf(badge(page, load)), { timeout: 30_000 }).toBe('done');
    await expect.poll(() => textOf(badge(page, sample)), { timeout: 40_000 }).toBe('done');
    await expect.poll(() => textOf(page.getByTestId('run-status')), { timeout: 15_000 }).toBe('finished');
    const states = await page.evaluate(
      () => (window as unknown as { __states: Record<string, string[]> }).__states,
    );
    // Sample (the diffusion) is seen running, then done; a queued state before may or may not be drawn.
    expect(states[sample]?.filter((s) => s !== 'queued')).toEqual(['running', 'done']);
    expect(states[load]?.at(-1)).toBe('done');
    expect(states[load]?.every((s) => ['queued', 'running', 'done'].includes(s))).toBe(true);

    // The sample's PNG is shown on the node as a thumbnail the server makes from the stored artifact.
    const img = nodeLocator(page, sample).locator('.thumb img');
    await expect.poll(() => img.count(), { timeout: 15_000 }).toBe(1);
    expect(await img.getAttribute('src')).toMatch(/^\/api\/artifacts\/[0-9a-f]{64}\/thumbnail$/);
    await img.scrollIntoViewIfNeeded();
    await expect
      .poll(() => img.evaluate((el: HTMLImageElement) => (el.complete ? el.naturalWidth : 0)), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    await shot('engine-02-sampled');
    expect(h.errors.join('\n')).toBe('');
  });
});
