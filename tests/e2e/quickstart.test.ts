import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoData } from '../../scripts/demo/write.ts';
import { badge, type Harness, nodeIds, nodeLocator, root, startHarness, textOf } from './harness.ts';

/**
 * Issue 8 through the browser: a first start opens the quickstart workflow on the canvas (nothing autosaved),
 * and pressing Ctrl+Enter runs the whole pipeline on the real engine and the bundled demo model (with fewer
 * steps than the template's, to keep the suite short), ending with sample images on the Sample nodes.
 */
const engineBin = process.env.LORAFLOW_ENGINE_BIN ?? join(root, 'native', 'build', 'loraflow-engine');
const demoModel = join(root, 'models', 'demo', 'loraflow-demo-sd1.safetensors');
const runnable = existsSync(engineBin) && existsSync(demoModel);
if (!runnable) console.warn(`quickstart e2e skipped: needs ${engineBin} and ${demoModel}`);

const QUICKSTART_NODES = [
  'ckpt',
  'load',
  'crop',
  'edit',
  'reg',
  'train',
  'save',
  'sampleLora',
  'sampleBase',
  'saveLoraSamples',
  'saveBaseSamples',
];

let h: Harness;
let page: Page;

describe.skipIf(!runnable)('the quickstart in the editor', { timeout: 600_000 }, () => {
  beforeAll(async () => {
    h = await startHarness({
      engineBin,
      testNodes: false,
      viewport: { width: 1400, height: 900 },
      prepare: async (dataDir) => {
        await writeDemoData({
          out: join(dataDir, 'datasets', 'loraflow-demo'),
          seed: 1,
          count: 0,
          conceptCount: 12,
        });
      },
    });
    page = h.page;
  });

  afterAll(async () => {
    await h?.close();
  });

  it('opens on first start and runs end to end with the demo model', async () => {
    await page.goto('/');
    await expect
      .poll(async () => (await nodeIds(page)).sort(), { timeout: 20_000 })
      .toEqual([...QUICKSTART_NODES].sort());
    await h.shot('quickstart-01-opened');

    const field = (node: string, param: string) => nodeLocator(page, node).locator(`#p-${node}-${param}`);
    const set = async (node: string, param: string, value: string) => {
      await field(node, param).scrollIntoViewIfNeeded();
      await field(node, param).fill(value);
    };
    await set('reg', 'count', '2');
    await set('reg', 'steps', '4');
    await set('train', 'max_train_steps', '12');
    for (const s of ['sampleLora', 'sampleBase']) {
      await set(s, 'steps', '4');
      await set(s, 'batchCount', '1');
    }
    await expect.poll(() => page.locator('.field-error').count()).toBe(0);

    await page.keyboard.press('Control+Enter');
    await expect
      .poll(() => textOf(page.getByTestId('run-status')), { timeout: 20_000 })
      .toMatch(/^(queued|running)$/);
    await expect
      .poll(() => textOf(page.getByTestId('run-status')), { timeout: 480_000, interval: 1000 })
      .toBe('finished');
    for (const id of QUICKSTART_NODES) expect(await textOf(badge(page, id)), id).toMatch(/^(done|cached)$/);

    // Four prompts, one image each, on both Sample nodes.
    for (const s of ['sampleLora', 'sampleBase']) {
      const imgs = nodeLocator(page, s).locator('.thumb img');
      await expect.poll(() => imgs.count(), { timeout: 15_000 }).toBe(4);
    }
    await h.shot('quickstart-02-finished');
    expect(h.errors.join('\n')).toBe('');
  });
});
