// node --import tsx scripts/demo/evaluateSamples.ts DIR [--json]
// Per-shape and per-colour accuracy of the PNGs in DIR (recursively) against their prompts: the A1111
// `parameters` text chunk loraflow writes into samples, or else a kohya `.txt` caption next to the image.
// Used for the demo model's quality figures and to check generated demo data.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getPngText } from '../../nodes/png/textChunks.ts';
import { qualityReport, type Scored, scoreImage } from './quality.ts';

async function promptOf(path: string, png: Buffer): Promise<string | undefined> {
  const params = getPngText(png, 'parameters');
  if (params) return params.split('\n')[0]!.trim();
  try {
    return (await readFile(path.replace(/\.png$/i, '.txt'), 'utf8')).split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const dir = positionals[0];
  if (!dir) {
    console.error('usage: evaluateSamples.ts DIR [--json]');
    process.exit(2);
  }
  const files = (await readdir(dir, { recursive: true })).filter((f) => /\.png$/i.test(f)).sort();
  const scored: Scored[] = [];
  let unprompted = 0;
  for (const f of files) {
    const path = join(dir, f);
    const png = await readFile(path);
    const prompt = await promptOf(path, png);
    if (prompt === undefined) unprompted++;
    else scored.push(await scoreImage(png, prompt));
  }
  const report = qualityReport(scored);
  if (values.json) {
    console.log(JSON.stringify({ ...report, unprompted }, null, 2));
    return;
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`${report.images} images with prompts (${unprompted} without, skipped)`);
  for (const [kind, table] of [
    ['shape', report.shape],
    ['colour', report.color],
  ] as const) {
    for (const [k, t] of Object.entries(table))
      console.log(`  ${kind} ${k.padEnd(8)} ${pct(t.accuracy).padStart(6)}  (${t.correct}/${t.total})`);
  }
  console.log(
    `  shape and colour  ${pct(report.both.accuracy)}  (${report.both.correct}/${report.both.total})`,
  );
}

await main();
