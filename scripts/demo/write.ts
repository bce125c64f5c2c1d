import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  BASE_FOLDER,
  baseSpecs,
  CONCEPT_FOLDER,
  captionOf,
  conceptSpecs,
  IMAGE_SIZE,
  renderSpec,
  type ShapeSpec,
} from './dataset.ts';

/**
 * Where `npm run make:demo-data` writes by default (relative to the working directory): the default dataset
 * root `data/datasets`, so the quickstart's Load Images finds `loraflow-demo/concept` with no configuration.
 */
export const DEFAULT_OUT = 'data/datasets/loraflow-demo';

/** Encodes packed RGB as PNG with fixed settings, so the same pixels always give the same bytes. */
export function encodePng(rgb: Uint8Array, size = IMAGE_SIZE): Promise<Buffer> {
  return sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

export interface DemoDataOptions {
  out: string;
  seed: number;
  /** Base set images. */
  count: number;
  /** Concept set images. */
  conceptCount: number;
}

export interface WrittenSet {
  /** The kohya image folder. */
  folder: string;
  files: { image: string; caption: string; spec: ShapeSpec }[];
}

const OUR_FILE = /^(shape|zkz)_\d{5}\.(png|txt)$/;

async function writeSet(
  setDir: string,
  kohyaFolder: string,
  prefix: string,
  specs: ShapeSpec[],
  seed: number,
) {
  const folder = join(setDir, kohyaFolder);
  await mkdir(folder, { recursive: true });
  // Files from an earlier, larger run would otherwise stay behind; only our own names are removed.
  for (const name of await readdir(folder)) if (OUR_FILE.test(name)) await rm(join(folder, name));
  const files: WrittenSet['files'] = [];
  for (const [i, spec] of specs.entries()) {
    const base = `${prefix}_${String(i).padStart(5, '0')}`;
    const caption = captionOf(spec);
    await writeFile(join(folder, `${base}.png`), await encodePng(renderSpec(spec)));
    await writeFile(join(folder, `${base}.txt`), `${caption}\n`);
    files.push({ image: `${kohyaFolder}/${base}.png`, caption, spec });
  }
  // A dataset companion (.json), which Load Images ignores.
  const manifest = { generator: 'loraflow demo shapes', seed, size: IMAGE_SIZE, images: files };
  await writeFile(join(setDir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return { folder, files };
}

/**
 * Writes `<out>/base/1_shapes/` (the base model's training set) and `<out>/concept/10_zkz star/` (the demo
 * concept), PNG + kohya `.txt` caption per image, and a manifest.json with each image's spec per set.
 */
export async function writeDemoData(o: DemoDataOptions): Promise<{ base: WrittenSet; concept: WrittenSet }> {
  const base = await writeSet(join(o.out, 'base'), BASE_FOLDER, 'shape', baseSpecs(o.seed, o.count), o.seed);
  const concept = await writeSet(
    join(o.out, 'concept'),
    CONCEPT_FOLDER,
    'zkz',
    conceptSpecs(o.seed, o.conceptCount),
    o.seed,
  );
  return { base, concept };
}
