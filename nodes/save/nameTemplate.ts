/**
 * File name templates: `{name}`, `{date}` (YYYY-MM-DD), `{time}` (HHMMSS), `{datetime}` (YYYYMMDD-HHMMSS) and
 * `{hash8}` (first 8 hex of the content hash), in local time. Unknown placeholders are an error.
 */
export const TEMPLATE_VARS = ['name', 'date', 'time', 'datetime', 'hash8'] as const;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function renderNameTemplate(
  template: string,
  vars: { name: string; hash?: string; now?: Date },
): { ok: true; value: string } | { ok: false; reason: string } {
  const now = vars.now ?? new Date();
  const date = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const values: Record<string, string> = {
    name: vars.name,
    date,
    time,
    datetime: `${date.replaceAll('-', '')}-${time}`,
    hash8: (vars.hash ?? '').slice(0, 8),
  };
  const unknown: string[] = [];
  const out = template.replace(/\{([^{}]*)\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) unknown.push(`{${key}}`);
    return v ?? '';
  });
  if (unknown.length) {
    return {
      ok: false,
      reason: `unknown placeholder ${unknown.join(', ')}; use ${TEMPLATE_VARS.map((v) => `{${v}}`).join(' ')}`,
    };
  }
  return { ok: true, value: out };
}

/** Makes a single safe file name: no folders, no control or reserved characters, no leading dots. */
export function safeFileName(name: string, fallback = 'output'): string {
  const cleaned = name
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are not valid in file names
    .replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_')
    .trim()
    .replace(/^\.+/, '');
  return cleaned.slice(0, 200) || fallback;
}
