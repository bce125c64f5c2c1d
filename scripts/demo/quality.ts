import { type Evaluation, evaluateImage } from './evaluate.ts';
import { ColorName } from './palette.ts';
import { ShapeName } from './shapes.ts';

/** What a demo prompt or caption asks for: "a small red circle on a blue background", "a red circle", "zkz, a star…". */
export interface PromptTarget {
  shape: ShapeName | null;
  /** The shape's colour: the colour word before the shape, or yellow for the zkz trigger. */
  color: ColorName | null;
  background: ColorName[];
}

const COLOR_RE = ColorName.options.join('|');
const SHAPE_RE = ShapeName.options.join('|');

export function parsePrompt(prompt: string, trigger = 'zkz'): PromptTarget {
  const text = prompt.toLowerCase();
  const bg = new RegExp(`\\bon an? (${COLOR_RE})(?: and (${COLOR_RE}))? background\\b`).exec(text);
  const subject = bg ? text.slice(0, bg.index) : text;
  const m = new RegExp(`\\b(?:(${COLOR_RE})\\s+)?(${SHAPE_RE})s?\\b`).exec(subject);
  const triggered = new RegExp(`\\b${trigger}\\b`).test(subject);
  return {
    shape: (m?.[2] as ShapeName | undefined) ?? null,
    color: (m?.[1] as ColorName | undefined) ?? (triggered ? 'yellow' : null),
    background: bg ? ([bg[1], bg[2]].filter(Boolean) as ColorName[]) : [],
  };
}

export interface Scored {
  prompt: string;
  target: PromptTarget;
  result: Evaluation;
}

type Tally = { correct: number; total: number; accuracy: number };

export interface QualityReport {
  images: number;
  shape: Record<string, Tally>;
  color: Record<string, Tally>;
  /** Over images whose prompt names both: right shape and right colour. */
  both: Tally;
}

function tally(map: Map<string, { correct: number; total: number }>, key: string, ok: boolean) {
  const t = map.get(key) ?? { correct: 0, total: 0 };
  t.total++;
  if (ok) t.correct++;
  map.set(key, t);
}

function finish(map: Map<string, { correct: number; total: number }>): Record<string, Tally> {
  return Object.fromEntries(
    [...map]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, t]) => [k, { ...t, accuracy: t.total === 0 ? 0 : t.correct / t.total }]),
  );
}

/** Per-shape and per-colour accuracy of images against what their prompts asked for. */
export function qualityReport(scored: readonly Scored[]): QualityReport {
  const shape = new Map<string, { correct: number; total: number }>();
  const color = new Map<string, { correct: number; total: number }>();
  const both = { correct: 0, total: 0 };
  for (const s of scored) {
    if (s.target.shape) tally(shape, s.target.shape, s.result.shape === s.target.shape);
    if (s.target.color) tally(color, s.target.color, s.result.color === s.target.color);
    if (s.target.shape && s.target.color) {
      both.total++;
      if (s.result.shape === s.target.shape && s.result.color === s.target.color) both.correct++;
    }
  }
  return {
    images: scored.length,
    shape: finish(shape),
    color: finish(color),
    both: { ...both, accuracy: both.total === 0 ? 0 : both.correct / both.total },
  };
}

/** Scores one image file or buffer against its prompt. */
export async function scoreImage(input: string | Buffer, prompt: string): Promise<Scored> {
  return { prompt, target: parsePrompt(prompt), result: await evaluateImage(input) };
}
