/**
 * A1111's `parameters` text: the prompt, an optional `Negative prompt: ...` line, then one line of
 * `Key: value` pairs separated by `, ` (values with commas are JSON-quoted), e.g.
 * `Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model hash: 1a2b3c4d, Model: sd15`.
 */
export interface A1111Parameters {
  prompt: string;
  negativePrompt?: string;
  /** Ordered settings; A1111's usual keys are Steps, Sampler, CFG scale, Seed, Size, Model hash, Model. */
  settings: Record<string, string | number>;
}

function quote(v: string): string {
  return /[,:\n"]/.test(v) ? JSON.stringify(v) : v;
}

export function formatA1111Parameters(p: A1111Parameters): string {
  const lines = [p.prompt.trim()];
  if (p.negativePrompt?.trim()) lines.push(`Negative prompt: ${p.negativePrompt.trim()}`);
  const settings = Object.entries(p.settings).map(([k, v]) => `${k}: ${quote(String(v))}`);
  if (settings.length) lines.push(settings.join(', '));
  return lines.join('\n');
}

const SETTING_RE = /\s*([\w ./+-]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g;

export function parseA1111Parameters(text: string): A1111Parameters {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let settingsLine = '';
  const last = lines.at(-1) ?? '';
  // The settings line has at least three `Key: value` pairs (A1111's own heuristic).
  if ([...last.matchAll(SETTING_RE)].length >= 3) {
    settingsLine = last;
    lines.pop();
  }
  const promptLines: string[] = [];
  const negLines: string[] = [];
  let inNeg = false;
  for (const line of lines) {
    if (line.startsWith('Negative prompt:')) {
      inNeg = true;
      negLines.push(line.slice('Negative prompt:'.length).trim());
    } else (inNeg ? negLines : promptLines).push(line);
  }
  const settings: Record<string, string | number> = {};
  for (const m of settingsLine.matchAll(SETTING_RE)) {
    const key = m[1]!.trim();
    let value = m[2]!.trim();
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // keep it as written
      }
    }
    const n = Number(value);
    settings[key] = value !== '' && Number.isFinite(n) && /^-?\d+(\.\d+)?$/.test(value) ? n : value;
  }
  const result: A1111Parameters = { prompt: promptLines.join('\n').trim(), settings };
  if (negLines.length) result.negativePrompt = negLines.join('\n').trim();
  return result;
}
