/**
 * kohya's dataset folder convention: `<repeats>_<instance> <class>`, e.g. `10_sks dog`. kohya takes the text
 * after the first `_` as the caption of images without a caption file, and skips folders without the number
 * prefix with only a log line: we warn loudly instead.
 */
export type KohyaFolder =
  | {
      ok: true;
      repeats: number;
      /** Everything after `<repeats>_` (kohya's folder caption). */
      caption: string;
      /** First word of the caption (the trigger token). */
      instance: string;
      /** The rest of the caption, e.g. `dog` or `woman`; empty when the folder has a single word. */
      className: string;
    }
  | { ok: false; reason: string };

export function parseKohyaFolderName(name: string): KohyaFolder {
  const m = /^(\d+)_(.*)$/s.exec(name);
  if (!m) {
    return {
      ok: false,
      reason: `folder "${name}" has no repeat prefix (e.g. "10_${name}"); kohya would skip it`,
    };
  }
  const repeats = Number(m[1]);
  if (!Number.isSafeInteger(repeats) || repeats < 1) {
    return { ok: false, reason: `folder "${name}" has ${m[1]} repeats; use at least 1 (e.g. "1_${m[2]}")` };
  }
  const caption = (m[2] ?? '').trim();
  const space = caption.search(/\s/);
  return {
    ok: true,
    repeats,
    caption,
    instance: space < 0 ? caption : caption.slice(0, space),
    className: space < 0 ? '' : caption.slice(space).trim(),
  };
}

/** Folder name for an export: `10_sks dog`; characters not allowed in file names become `_`. */
export function kohyaFolderName(repeats: number, instance: string, className: string): string {
  const caption = [instance, className]
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are not valid in folder names
  const safe = caption.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_').replace(/^\.+/, '_');
  return `${Math.max(1, Math.floor(repeats))}_${safe || 'images'}`;
}

/** kohya reads the first line of a caption file. */
export function firstLine(text: string): string {
  const noBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const nl = noBom.search(/\r?\n/);
  return (nl < 0 ? noBom : noBom.slice(0, nl)).trim();
}
