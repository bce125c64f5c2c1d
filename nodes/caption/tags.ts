/** Caption text as kohya sees it: comma-separated tags, first line only. */

export function splitTags(caption: string): string[] {
  return caption
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

export function joinTags(tags: readonly string[]): string {
  return tags.join(', ');
}

/** Tag counts over captions, lower-cased like kohya's `ss_tag_frequency`, most frequent first. */
export function tagFrequencies(captions: readonly string[]): { tag: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const c of captions) {
    for (const tag of new Set(splitTags(c).map((t) => t.toLowerCase())))
      counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([tag, count]) => ({ tag, count }))
    .sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag));
}
