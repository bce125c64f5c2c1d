const SHA256 = /^[0-9a-f]{64}$/;

/** `itemHash` is the full image's hash when `hash` is a thumbnail of it. */
export type PreviewImage = { hash: string; itemHash?: string; caption?: string; label?: string };
export type Previews = { images: PreviewImage[]; total: number; lines: string[] };

export function artifactUrl(hash: string): string {
  return `/api/artifacts/${hash}`;
}

/** A small JPEG of an image artifact, made by the server on first request. */
export function thumbnailUrl(hash: string): string {
  return `/api/artifacts/${hash}/thumbnail`;
}

/**
 * Where a preview's small picture comes from: an entry with `itemHash` already names a thumbnail (the node
 * made one); any other image gets its thumbnail from the server, so a node can list full images cheaply.
 */
export function previewSrc(img: PreviewImage): string {
  return img.itemHash ? artifactUrl(img.hash) : thumbnailUrl(img.hash);
}

/** The full image behind a preview. */
export function fullImageHash(img: PreviewImage): string {
  return img.itemHash ?? img.hash;
}

/**
 * Reads what a node's `display` offers for previews without knowing the node: image refs (objects with a
 * sha256 `hash`, or sha256 strings under image-like keys), with captions or labels when present, and short
 * scalar facts (counts, sizes, text) shown as lines. Limited to `max` images.
 */
export function extractPreviews(display: Record<string, unknown> | undefined, max = 12): Previews {
  const out: Previews = { images: [], total: 0, lines: [] };
  if (!display) return out;
  const seen = new Set<string>();
  const add = (img: PreviewImage) => {
    if (seen.has(img.hash)) return;
    seen.add(img.hash);
    out.total += 1;
    if (out.images.length < max) out.images.push(img);
  };
  const visit = (value: unknown, key: string, depth: number) => {
    if (depth > 4 || value === null || value === undefined) return;
    if (typeof value === 'string') {
      if (SHA256.test(value) && /image|preview|sample|latent|thumb/i.test(key)) add({ hash: value });
      return;
    }
    if (Array.isArray(value)) {
      for (const v of value) visit(v, key, depth + 1);
      return;
    }
    if (typeof value === 'object') {
      const o = value as Record<string, unknown>;
      // Typed values that are not images (a LoRA, a model, prompts) carry hashes of files no <img> can show.
      if (typeof o.kind === 'string' && o.kind !== 'images') return;
      const hash = typeof o.hash === 'string' ? o.hash : typeof o.image === 'string' ? o.image : undefined;
      if (hash && SHA256.test(hash)) {
        const img: PreviewImage = { hash };
        if (typeof o.itemHash === 'string' && SHA256.test(o.itemHash)) img.itemHash = o.itemHash;
        if (typeof o.caption === 'string') img.caption = o.caption;
        const label =
          o.label ?? o.prompt ?? o.name ?? (typeof o.step === 'number' ? `step ${o.step}` : undefined);
        if (typeof label === 'string') img.label = label;
        add(img);
        return;
      }
      for (const [k, v] of Object.entries(o)) visit(v, k, depth + 1);
    }
  };
  for (const [k, v] of Object.entries(display)) {
    if ((typeof v === 'number' || typeof v === 'boolean') && out.lines.length < 6)
      out.lines.push(`${k}: ${v}`);
    else if (typeof v === 'string' && v !== '' && !SHA256.test(v) && out.lines.length < 6)
      out.lines.push(`${k}: ${v.slice(0, 160)}`);
    else visit(v, k, 0);
  }
  return out;
}
