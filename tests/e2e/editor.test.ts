import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPngText } from '../../nodes/png/textChunks.ts';
import {
  addNodeBySearch,
  badge,
  type Harness,
  handle,
  nodeIds,
  nodeLocator,
  startHarness,
  textOf,
  wire,
} from './harness.ts';

let h: Harness;
let page: Page;

beforeAll(async () => {
  h = await startHarness();
  page = h.page;
  await page.goto('/');
  await page
    .getByRole('navigation', { name: 'Node palette' })
    .getByRole('button', { name: 'Load Images' })
    .waitFor();
});

afterAll(async () => {
  await h?.close();
});

async function newWorkflow() {
  await page.getByRole('button', { name: 'New', exact: true }).click();
  await expect.poll(() => nodeIds(page)).toEqual([]);
}

async function setNumber(nodeId: string, param: string, value: number) {
  const input = nodeLocator(page, nodeId).locator(`#p-${nodeId}-${param}`);
  await input.fill(String(value));
}

describe('editor end to end', () => {
  it('builds a workflow through the UI, refuses a bad wire with its reason, runs it and shows results', async () => {
    await newWorkflow();
    const load = await addNodeBySearch(page, 300, 120, 'load images');
    const a = await addNodeBySearch(page, 300, 450, 'number');
    const add = await addNodeBySearch(page, 650, 330, 'add');
    const slow = await addNodeBySearch(page, 920, 330, 'slow');
    const sink = await addNodeBySearch(page, 800, 100, 'sink');
    // The palette's filter narrows the list.
    const palette = page.getByRole('navigation', { name: 'Node palette' });
    await page.getByRole('searchbox', { name: 'Filter palette' }).fill('sink');
    await expect.poll(() => palette.getByRole('button').allTextContents()).toEqual(['Sink']);
    await page.getByRole('searchbox', { name: 'Filter palette' }).fill('');

    // IMAGES cannot go into a PROMPTS input: refused, with the reason next to the pointer.
    await wire(page, [load, 'images'], [add, 'a']);
    await expect
      .poll(() => textOf(page.locator('.toast.at-pointer')), { timeout: 15_000 })
      .toContain('IMAGES output cannot connect to a PROMPTS input');
    await h.shot('01-refused-connection');
    expect(await page.locator('.react-flow__edge').count()).toBe(0);

    await wire(page, [a, 'value'], [add, 'a']);
    await wire(page, [add, 'sum'], [slow, 'in']);
    await wire(page, [load, 'images'], [sink, 'value']);
    await expect.poll(() => page.locator('.react-flow__edge').count(), { timeout: 15_000 }).toBe(3);

    // Drop a wire from Slow's output in empty space: the search lists only compatible nodes and wires the pick.
    const out = await handle(page, slow, 'out', 'source').boundingBox();
    await page.mouse.move(out!.x + 4, out!.y + 4);
    await page.mouse.down();
    await page.mouse.move(1150, 560, { steps: 8 });
    await page.mouse.up();
    const search = page.getByRole('searchbox', { name: 'Search nodes' });
    await search.waitFor({ state: 'visible' });
    const offered = await page.locator('.node-search li .title').allTextContents();
    expect(offered).toContain('Save');
    expect(offered).not.toContain('Load Images');
    expect(offered).not.toContain('Number');
    await search.fill('save');
    await search.press('Enter');
    await expect.poll(() => page.locator('.react-flow__edge').count(), { timeout: 15_000 }).toBe(4);
    const save = (await nodeIds(page)).at(-1)!;

    // Params: widgets know their ranges; an invalid value is marked inline.
    await setNumber(a, 'value', 7);
    await setNumber(slow, 'steps', 120);
    await setNumber(slow, 'stepMs', 25);
    await setNumber(slow, 'steps', 0);
    await expect
      .poll(() => textOf(nodeLocator(page, slow).locator('.field-error')), { timeout: 15_000 })
      .toBe('Must be at least 1');
    await setNumber(slow, 'steps', 120);
    await expect
      .poll(() => nodeLocator(page, slow).locator('.field-error').count(), { timeout: 15_000 })
      .toBe(0);
    // The folder picker browses the server's dataset root (GET /api/files).
    await nodeLocator(page, load).getByRole('button', { name: 'Browse dataset folders' }).click();
    const browser = page.getByRole('dialog', { name: 'Browse dataset root' });
    await browser.getByRole('button', { name: /dogs/ }).click();
    await expect.poll(() => textOf(browser.locator('.crumb'))).toBe('dataset:/dogs');
    await expect.poll(() => browser.getByRole('listitem').count()).toBe(2); // ".." and "Empty": no sub-folders
    await browser.getByRole('button', { name: 'Use this folder' }).click();
    await expect.poll(() => nodeLocator(page, load).locator(`#p-${load}-folder`).inputValue()).toBe('dogs');
    await h.shot('02-built');

    await page.keyboard.press('Control+Enter');
    await expect.poll(() => textOf(badge(page, slow)), { timeout: 15_000 }).toMatch(/queued|running/);
    await expect.poll(() => textOf(badge(page, slow)), { timeout: 15_000 }).toBe('running');
    await expect
      .poll(() => textOf(nodeLocator(page, slow).locator('.progress-text')), { timeout: 15_000 })
      .toMatch(/\d+% step \d+/);
    await h.shot('03-running');
    await expect.poll(() => textOf(badge(page, save)), { timeout: 20_000 }).toBe('done');
    await expect.poll(() => textOf(badge(page, slow)), { timeout: 15_000 }).toBe('done');
    await expect
      .poll(() => textOf(nodeLocator(page, save).locator('.display-lines')), { timeout: 15_000 })
      .toContain('saved: 7');
    // The sink shows the dataset's images as previews, with captions.
    await expect
      .poll(() => nodeLocator(page, sink).locator('.thumb img').count(), { timeout: 15_000 })
      .toBe(3);
    await expect
      .poll(() => textOf(nodeLocator(page, sink).locator('.thumb .cap').first()), { timeout: 15_000 })
      .toContain('sks dog');
    await expect.poll(() => textOf(page.getByTestId('run-status')), { timeout: 15_000 }).toBe('finished');
    await h.shot('04-finished');

    // Re-running an unchanged workflow is served from the cache.
    await page.getByRole('button', { name: '▶ Run' }).click();
    await expect.poll(() => textOf(badge(page, slow)), { timeout: 10_000 }).toBe('cached');
    await expect.poll(() => textOf(badge(page, save)), { timeout: 10_000 }).toBe('done');

    // The queue panel lists both runs with their status.
    await page.getByRole('button', { name: 'Queue', exact: true }).click();
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 15_000 }).toBe(2);
    await expect
      .poll(() => textOf(page.getByTestId('run-row').first()), { timeout: 15_000 })
      .toContain('succeeded');
    await h.shot('05-queue');
    // Re-open the first run's workflow from history: same nodes, with that run's states.
    const ids = await nodeIds(page);
    await newWorkflow();
    await page
      .getByTestId('run-row')
      .last()
      .getByRole('button', { name: /Re-open/ })
      .click();
    await expect.poll(() => nodeIds(page)).toEqual(ids);
    await expect.poll(() => textOf(badge(page, slow))).toBe('done');
    await page.getByRole('button', { name: 'Close queue' }).click();
  });

  it('undoes and redoes graph edits with the keyboard', async () => {
    const before = await nodeIds(page);
    await page.locator('.react-flow__pane').click({ position: { x: 500, y: 20 } });
    const added = await addNodeBySearch(page, 260, 640, 'number');
    expect(await nodeIds(page)).toHaveLength(before.length + 1);
    await page.locator('.react-flow__pane').click({ position: { x: 500, y: 20 } });
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeIds(page)).toEqual(before);
    await page.keyboard.press('Control+Shift+Z');
    await expect.poll(() => nodeIds(page)).toContain(added);
    // Delete with the keyboard, then undo brings the node back.
    await nodeLocator(page, added).locator('.wf-node-title').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => nodeIds(page)).toEqual(before);
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeIds(page)).toContain(added);
    // Copy and paste the node at the pointer: a new node with a fresh id.
    await nodeLocator(page, added).locator('.wf-node-title').click();
    await page.keyboard.press('Control+c');
    await page.mouse.move(700, 600);
    await page.keyboard.press('Control+v');
    await expect.poll(async () => (await nodeIds(page)).length).toBe(before.length + 2);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await nodeIds(page)).length).toBe(before.length + 1);
    // Group the selection with Ctrl+G; the group is one undoable edit like any other.
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Control+g');
    await expect.poll(() => page.locator('.group-node').count()).toBe(1);
    await expect.poll(() => textOf(page.locator('.group-title'))).toBe('Group');
    await h.shot('05b-group');
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.locator('.group-node').count()).toBe(0);
  });

  it('restores the live state of a run after a reload', async () => {
    await newWorkflow();
    const slow = await addNodeBySearch(page, 400, 250, 'slow');
    const sink = await addNodeBySearch(page, 800, 250, 'sink');
    await wire(page, [slow, 'out'], [sink, 'value']);
    await setNumber(slow, 'steps', 400);
    await setNumber(slow, 'stepMs', 25);
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => textOf(badge(page, slow)), { timeout: 15_000 }).toBe('running');
    await page.reload();
    await expect.poll(() => textOf(badge(page, slow)), { timeout: 15_000 }).toBe('running');
    await expect
      .poll(() => textOf(nodeLocator(page, slow).locator('.progress-text')), { timeout: 15_000 })
      .toContain('step');
    await h.shot('06-after-reload');
    await page.getByRole('button', { name: '■ Cancel' }).click();
    await expect.poll(() => textOf(badge(page, slow)), { timeout: 10_000 }).toBe('cancelled');
    await expect.poll(() => textOf(page.getByTestId('run-status')), { timeout: 15_000 }).toBe('cancelled');
  });

  it('saves to the server, reloads and opens the workflow again', async () => {
    await newWorkflow();
    const n = await addNodeBySearch(page, 400, 250, 'number');
    await setNumber(n, 'value', 42);
    await page.getByRole('img', { name: 'unsaved changes' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Control+s');
    await page.getByLabel('Name').fill('e2e answer');
    await page.getByRole('button', { name: 'Save', exact: true }).last().click();
    await expect
      .poll(() => textOf(page.getByTestId('workflow-name')), { timeout: 15_000 })
      .toBe('e2e answer');
    await expect
      .poll(() => page.getByRole('img', { name: 'unsaved changes' }).count(), { timeout: 15_000 })
      .toBe(0);
    await page.reload();
    await newWorkflow();
    await page.keyboard.press('Control+o');
    // Templates from workflows/ are listed next to the saved workflows.
    const templates = page.getByRole('dialog', { name: 'Open workflow' }).locator('section').nth(1);
    await expect.poll(() => templates.locator('li').count()).toBeGreaterThan(0);
    await page
      .getByRole('dialog', { name: 'Open workflow' })
      .getByRole('button', { name: /e2e answer/ })
      .click();
    await expect.poll(() => nodeIds(page)).toEqual([n]);
    await expect
      .poll(() => nodeLocator(page, n).locator(`#p-${n}-value`).inputValue(), { timeout: 15_000 })
      .toBe('42');
    await expect
      .poll(() => textOf(page.getByTestId('workflow-name')), { timeout: 15_000 })
      .toBe('e2e answer');
  });

  it('restores a workflow from a PNG dropped on the canvas', async () => {
    await newWorkflow();
    const doc = {
      format: 'loraflow.workflow',
      version: 1,
      nodes: [
        {
          id: '1',
          type: 'test/basic/number',
          version: '1.0.0',
          params: { value: 5 },
          position: { x: 0, y: 0 },
        },
        {
          id: '2',
          type: 'test/basic/sink',
          version: '1.0.0',
          params: { label: 'from png' },
          position: { x: 320, y: 0 },
        },
        {
          id: '3',
          type: 'vendor/pack/unknown',
          version: '2.0.0',
          params: { keep: true },
          position: { x: 0, y: 220 },
        },
      ],
      links: [{ id: 'l1', from: { node: '1', output: 'value' }, to: { node: '2', input: 'value' } }],
      meta: { name: 'from a png', description: '', created_with: 'e2e' },
    };
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    const withWorkflow = withPngText(png, { 'loraflow.workflow': JSON.stringify(doc) });
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'shared.png', { type: 'image/png' }));
      const target = document.querySelector('.canvas')!;
      target.dispatchEvent(
        new DragEvent('dragover', {
          dataTransfer: dt,
          bubbles: true,
          cancelable: true,
          clientX: 600,
          clientY: 300,
        }),
      );
      target.dispatchEvent(
        new DragEvent('drop', {
          dataTransfer: dt,
          bubbles: true,
          cancelable: true,
          clientX: 600,
          clientY: 300,
        }),
      );
    }, Buffer.from(withWorkflow).toString('base64'));
    await expect.poll(() => nodeIds(page)).toEqual(['1', '2', '3']);
    await expect
      .poll(() => textOf(page.getByTestId('workflow-name')), { timeout: 15_000 })
      .toBe('from a png');
    await expect.poll(() => page.locator('.react-flow__edge').count(), { timeout: 15_000 }).toBe(1);
    await expect
      .poll(() => textOf(nodeLocator(page, '3')), { timeout: 15_000 })
      .toContain('Unknown node type vendor/pack/unknown');
    await h.shot('07-dropped-png');
  });

  it("shows the server's per-node validation errors on the nodes", async () => {
    const errorsBefore = h.errors.length;
    await newWorkflow();
    const load = await addNodeBySearch(page, 400, 200, 'load images');
    const sink = await addNodeBySearch(page, 800, 200, 'sink');
    await wire(page, [load, 'images'], [sink, 'value']);
    await page.keyboard.press('Control+Enter');
    // The folder is empty: the server refuses the run and names the node and field.
    await expect.poll(() => textOf(page.locator('.toast.error')), { timeout: 15_000 }).toContain('problem');
    await expect.poll(() => nodeLocator(page, load).locator('article.has-problems').count()).toBe(1);
    await expect.poll(() => textOf(nodeLocator(page, load).locator('.field-error'))).not.toBe('');
    await h.shot('08-validation-errors');
    // The browser logs the refused request (HTTP 400) itself; that one is expected, nothing else.
    const logged = h.errors.splice(errorsBefore);
    expect(logged.every((e) => e.includes('status of 400'))).toBe(true);
  });

  it('edits captions in the dataset view as overrides in the Caption Edit node', async () => {
    await newWorkflow();
    const load = await addNodeBySearch(page, 300, 150, 'load images');
    const edit = await addNodeBySearch(page, 700, 150, 'caption edit');
    const sink = await addNodeBySearch(page, 1000, 150, 'sink');
    await wire(page, [load, 'images'], [edit, 'images']);
    await wire(page, [edit, 'images'], [sink, 'value']);
    await nodeLocator(page, load).locator(`#p-${load}-folder`).fill('dogs');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => textOf(badge(page, sink)), { timeout: 20_000 }).toMatch(/^(done|cached)$/);
    await nodeLocator(page, load).getByRole('button', { name: 'Open dataset view' }).click();
    const view = page.getByRole('dialog', { name: 'Dataset view' });
    await expect.poll(() => view.locator('.ds-item').count()).toBe(3);
    await expect.poll(() => textOf(view.locator('.dataset-bar'))).toContain('1 without caption');
    await expect
      .poll(() => view.getByRole('complementary', { name: 'Tag frequency' }).textContent())
      .toContain('sks dog2');
    const empty = view.locator('textarea.uncaptioned');
    await empty.fill('sks dog, blue');
    await expect.poll(() => textOf(view.locator('.dataset-bar'))).toContain('0 without caption');
    await h.shot('09-dataset-view');
    await view.getByRole('button', { name: 'Close dataset view' }).click();
    // The override is part of the workflow: run again and the edited caption flows downstream.
    await page.keyboard.press('Control+Enter');
    await expect
      .poll(() => nodeLocator(page, sink).locator('.thumb .cap').allTextContents(), { timeout: 20_000 })
      .toContain('sks dog, blue');
  });

  it('draws the training dashboard from live and stored metrics', async () => {
    await newWorkflow();
    const train = await addNodeBySearch(page, 400, 200, 'fake lora');
    const sink = await addNodeBySearch(page, 800, 200, 'sink');
    await wire(page, [train, 'lora'], [sink, 'value']);
    await setNumber(train, 'steps', 120);
    await setNumber(train, 'stepMs', 25);
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => textOf(badge(page, train)), { timeout: 15_000 }).toBe('running');
    await nodeLocator(page, train).getByRole('button', { name: 'Open training dashboard' }).click();
    const dash = page.getByRole('dialog', { name: 'Training dashboard' });
    await expect
      .poll(() => dash.locator('.loss-chart canvas').count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await expect
      .poll(() => textOf(dash.getByTestId('stat-step')), { timeout: 15_000 })
      .toMatch(/^\d+ \/ 120$/);
    await expect.poll(() => dash.locator('.sample img').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await h.shot('10-dashboard-live');
    await expect.poll(() => textOf(badge(page, train)), { timeout: 20_000 }).toBe('done');
    // After a reload the dashboard redraws fully from the stored events.
    await page.reload();
    await expect.poll(() => textOf(badge(page, train)), { timeout: 15_000 }).not.toBe('running');
    const reopened = page.getByRole('dialog', { name: 'Training dashboard' });
    if ((await reopened.count()) === 0) {
      await nodeLocator(page, train).getByRole('button', { name: 'Open training dashboard' }).click();
    }
    await expect.poll(() => textOf(reopened.getByTestId('stat-step')), { timeout: 15_000 }).toBe('120 / 120');
    await expect.poll(() => reopened.locator('.sample img').count()).toBe(6);
    await reopened.locator('.sample').first().click();
    await reopened.getByRole('button', { name: 'Close sample' }).waitFor();
    await h.shot('11-dashboard-stored');
    await reopened.getByRole('button', { name: 'Close sample' }).click();
    await reopened.getByRole('button', { name: 'Close dashboard' }).click();
  });

  it('logged no console errors', () => {
    // A refused websocket or a failed request would show up here.
    expect(h.errors.join('\n')).toBe('');
    expect(readFileSync(join(h.dataDir, 'workflows', 'e2e answer.json'), 'utf8')).toContain('"value": 42');
  });
});
