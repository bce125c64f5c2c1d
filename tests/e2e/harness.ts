import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { type LoraflowServer, startServer } from '../../server/app.ts';
import { loadRegistry } from '../../server/cli/registry.ts';
import { loadConfig } from '../../server/config/config.ts';
import { fakeTrainer } from './fakeTrainer.ts';

export const root = join(import.meta.dirname, '..', '..');
export const artifactsDir = join(root, 'tests', '.artifacts', 'e2e');

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export type Harness = {
  server: LoraflowServer;
  dataDir: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far. */
  errors: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
};

/** A small dataset: three solid-colour PNGs in `<data>/datasets/dogs`, two of them captioned. */
async function makeDataset(dataDir: string): Promise<void> {
  const dir = join(dataDir, 'datasets', 'dogs');
  mkdirSync(dir, { recursive: true });
  const colours = [
    [200, 60, 60],
    [60, 160, 80],
    [60, 90, 200],
  ] as const;
  for (const [i, [r, g, b]] of colours.entries()) {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r, g, b } } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, `dog${i + 1}.png`), png);
    if (i < 2) writeFileSync(join(dir, `dog${i + 1}.txt`), `sks dog, ${['red', 'green'][i]}`);
  }
}

export interface HarnessOptions {
  chromiumArgs?: string[];
  /** The real engine binary the server should use (its LORAFLOW_ENGINE_BIN). */
  engineBin?: string;
  /** Register the test nodes and the fake trainer too (default true). */
  testNodes?: boolean;
  /** Fills the fresh data dir (default: the small `dogs` dataset). */
  prepare?: (dataDir: string) => Promise<void>;
  viewport?: { width: number; height: number };
}

/** Starts the real server (built-in plus, by default, test nodes) on a free port with a temp data dir, and Chromium. */
export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'loraflow-e2e-'));
  await (o.prepare ?? makeDataset)(dataDir);
  const env = o.engineBin ? { LORAFLOW_ENGINE_BIN: o.engineBin } : {};
  const config = loadConfig({ cwd: dataDir, env, overrides: { port: 0, dataDir } });
  const registry =
    o.testNodes === false
      ? await loadRegistry({})
      : (await loadRegistry({ LORAFLOW_TEST_NODES: '1' })).register(fakeTrainer);
  const server = await startServer({ config, registry, clientDist: join(root, 'client', 'dist') });
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'loraflow-chromium-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...(o.chromiumArgs ?? [])],
    viewport: o.viewport ?? { width: 1280, height: 720 },
    baseURL: server.url,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  mkdirSync(artifactsDir, { recursive: true });
  return {
    server,
    dataDir,
    context,
    page,
    errors,
    async shot(name) {
      await page.screenshot({ path: join(artifactsDir, `${name}.png`) });
    },
    async close() {
      await context.close().catch(() => undefined);
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Adds a node through the search box opened by double-clicking the canvas at (x, y) (page pixels). */
export async function addNodeBySearch(page: Page, x: number, y: number, query: string): Promise<string> {
  const before = await nodeIds(page);
  await page.mouse.dblclick(x, y);
  const box = page.getByRole('searchbox', { name: 'Search nodes' });
  await box.fill(query);
  await box.press('Enter');
  await page.waitForFunction(
    (n) => document.querySelectorAll('.react-flow__node-workflow').length > n,
    before.length,
  );
  const after = await nodeIds(page);
  const added = after.find((id) => !before.includes(id));
  if (!added) throw new Error(`no node added for "${query}"`);
  return added;
}

export async function nodeIds(page: Page): Promise<string[]> {
  return page.$$eval('.react-flow__node-workflow', (els) => els.map((e) => e.getAttribute('data-id') ?? ''));
}

export function handle(page: Page, nodeId: string, socket: string, side: 'source' | 'target') {
  return page.locator(`.react-flow__handle.${side}[data-nodeid="${nodeId}"][data-handleid="${socket}"]`);
}

/** Drags a wire from an output socket to an input socket. */
export async function wire(page: Page, from: [string, string], to: [string, string]): Promise<void> {
  const a = await handle(page, from[0], from[1], 'source').boundingBox();
  const b = await handle(page, to[0], to[1], 'target').boundingBox();
  if (!a || !b) throw new Error(`socket not visible: ${from.join('.')} → ${to.join('.')}`);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

export function nodeLocator(page: Page, nodeId: string) {
  return page.locator(`.react-flow__node-workflow[data-id="${nodeId}"]`);
}

export function badge(page: Page, nodeId: string) {
  return nodeLocator(page, nodeId).locator('.wf-node-header .badge');
}

/** The text of the first match, or '' when there is none (never waits: for use inside expect.poll). */
export async function textOf(loc: Locator): Promise<string> {
  return (await loc.count()) > 0 ? ((await loc.first().textContent()) ?? '') : '';
}
