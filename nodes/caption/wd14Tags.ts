import { TAG_CATEGORY, type TagLabel } from './tagCsv.ts';

/** Emoticon tags keep their underscores (as in SmilingWolf's reference app). */
export const KAOMOJIS = new Set([
  '0_0',
  '(o)_(o)',
  '+_+',
  '+_-',
  '._.',
  '<o>_<o>',
  '<|>_<|>',
  '=_=',
  '>_<',
  '3_3',
  '6_9',
  '>_o',
  '@_@',
  '^_^',
  'o_o',
  'u_u',
  'x_x',
  '|_|',
  '||_||',
]);

export interface TagSelection {
  generalThreshold: number;
  characterThreshold: number;
  includeRating: boolean;
  /** Tags to leave out, in either underscore or space form. */
  exclude: readonly string[];
  replaceUnderscores: boolean;
  order: 'confidence' | 'characters-first' | 'alphabetical';
}

export type ScoredTag = { tag: string; score: number; category: number };

export function displayTag(name: string, replaceUnderscores: boolean): string {
  return replaceUnderscores && !KAOMOJIS.has(name) ? name.replaceAll('_', ' ') : name;
}

/**
 * Picks tags from the model's sigmoid outputs: general tags at or above the general threshold, character tags
 * at or above the character threshold, and the single best rating when asked (kohya leaves ratings out).
 */
export function selectTags(
  probs: ArrayLike<number>,
  labels: readonly TagLabel[],
  s: TagSelection,
): ScoredTag[] {
  const excluded = new Set(
    s.exclude.flatMap((t) => [t.trim().toLowerCase(), t.trim().toLowerCase().replaceAll(' ', '_')]),
  );
  const picked: ScoredTag[] = [];
  let bestRating: ScoredTag | undefined;
  for (let i = 0; i < labels.length; i++) {
    const { name, category } = labels[i]!;
    const score = probs[i] ?? 0;
    if (excluded.has(name.toLowerCase())) continue;
    const tag = displayTag(name, s.replaceUnderscores);
    if (category === TAG_CATEGORY.rating) {
      if (!bestRating || score > bestRating.score) bestRating = { tag, score, category };
    } else if (category === TAG_CATEGORY.character) {
      if (score >= s.characterThreshold) picked.push({ tag, score, category });
    } else if (score >= s.generalThreshold) {
      picked.push({ tag, score, category });
    }
  }
  if (s.order === 'alphabetical') picked.sort((a, b) => a.tag.localeCompare(b.tag));
  else if (s.order === 'characters-first')
    picked.sort(
      (a, b) =>
        Number(b.category === TAG_CATEGORY.character) - Number(a.category === TAG_CATEGORY.character) ||
        b.score - a.score,
    );
  else picked.sort((a, b) => b.score - a.score);
  if (s.includeRating && bestRating) picked.unshift(bestRating);
  return picked;
}
