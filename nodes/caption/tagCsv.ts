/** A row of a tagger's `selected_tags.csv` (columns tag_id,name,category,count). */
export type TagLabel = { name: string; category: number };

/** Danbooru categories used by the WD taggers. */
export const TAG_CATEGORY = { general: 0, character: 4, rating: 9 } as const;

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Parses `selected_tags.csv`; throws naming the file and line on a malformed file. */
export function parseSelectedTags(text: string, fileName = 'selected_tags.csv'): TagLabel[] {
  const lines = text
    .replace(/^\ufeff/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim());
  const nameCol = header.indexOf('name');
  const catCol = header.indexOf('category');
  if (nameCol < 0 || catCol < 0) {
    throw new Error(
      `${fileName}: expected a header with "name" and "category" columns (tag_id,name,category,count)`,
    );
  }
  return lines.slice(1).map((line, i) => {
    const cols = splitCsvLine(line);
    const name = cols[nameCol];
    const category = Number(cols[catCol]);
    if (name === undefined || name === '' || !Number.isInteger(category)) {
      throw new Error(`${fileName}: line ${i + 2} is not "tag_id,name,category,count": ${line.slice(0, 80)}`);
    }
    return { name, category };
  });
}
