import { open } from 'node:fs/promises';

/** What Load LoRA shows about a LoRA file, read from its safetensors header only (no weights). */
export type LoraInfo = {
  /** `__metadata__` strings of the file (kohya `ss_*`, modelspec, ours). */
  metadata: Record<string, string>;
  /** e.g. `sd_v1`, `sdxl_base_v1-0`, or the training model's name; undefined when the file does not say. */
  baseModel?: string;
  rank?: number;
  alpha?: number;
  /** Modules in the file (`*.lora_down.weight` keys). */
  modules: number;
  /** The most frequent training tags (kohya `ss_tag_frequency`), best trigger-word candidates first. */
  triggerWords: string[];
};

const MAX_HEADER = 100 * 1024 * 1024;

/** Reads and parses a safetensors header. Errors name the file. */
export async function readSafetensorsHeader(path: string): Promise<Record<string, unknown>> {
  const fh = await open(path, 'r');
  try {
    const len8 = Buffer.alloc(8);
    const { bytesRead } = await fh.read(len8, 0, 8, 0);
    if (bytesRead !== 8) throw new Error(`${path}: not a safetensors file (too short)`);
    const len = Number(len8.readBigUInt64LE(0));
    const { size } = await fh.stat();
    if (len < 2 || len > MAX_HEADER || 8 + len > size)
      throw new Error(
        `${path}: not a safetensors file (header length ${len} does not fit the ${size}-byte file)`,
      );
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, 8);
    try {
      const h = JSON.parse(buf.toString('utf8')) as unknown;
      if (typeof h !== 'object' || h === null || Array.isArray(h)) throw new Error('not an object');
      return h as Record<string, unknown>;
    } catch {
      throw new Error(`${path}: the safetensors header is not valid JSON`);
    }
  } finally {
    await fh.close();
  }
}

function finite(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Top tags across every folder of kohya's `ss_tag_frequency` JSON ({folder: {tag: count}}). */
export function topTags(tagFrequency: string | undefined, limit = 10): string[] {
  if (!tagFrequency) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(tagFrequency);
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  const totals = new Map<string, number>();
  for (const folder of Object.values(parsed as Record<string, unknown>)) {
    if (typeof folder !== 'object' || folder === null) continue;
    for (const [tag, count] of Object.entries(folder as Record<string, unknown>)) {
      const t = tag.trim();
      if (t && typeof count === 'number') totals.set(t, (totals.get(t) ?? 0) + count);
    }
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([t]) => t);
}

export function loraInfoFromHeader(header: Record<string, unknown>): LoraInfo {
  const raw = (header.__metadata__ ?? {}) as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') metadata[k] = v;
  let modules = 0;
  let inferredRank: number | undefined;
  for (const [k, v] of Object.entries(header)) {
    if (!k.endsWith('.lora_down.weight')) continue;
    modules++;
    const shape = (v as { shape?: unknown }).shape;
    if (inferredRank === undefined && Array.isArray(shape) && typeof shape[0] === 'number')
      inferredRank = shape[0];
  }
  const baseModel =
    metadata.ss_base_model_version ??
    metadata['modelspec.architecture'] ??
    (metadata.ss_v2 === 'True' ? 'sd_v2' : undefined) ??
    metadata.ss_sd_model_name;
  const rank = finite(metadata.ss_network_dim) ?? inferredRank;
  const alpha = finite(metadata.ss_network_alpha);
  const info: LoraInfo = { metadata, modules, triggerWords: topTags(metadata.ss_tag_frequency) };
  if (baseModel !== undefined) info.baseModel = baseModel;
  if (rank !== undefined) info.rank = rank;
  if (alpha !== undefined) info.alpha = alpha;
  return info;
}
