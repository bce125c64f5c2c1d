/** Types served inline; anything else is sent as a download so stored bytes can never run as a page. */
const INLINE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/gif',
  'image/avif',
  'application/json',
  'text/plain',
]);

/** Recognises the formats the store mostly holds from their first bytes. */
export function sniffContentType(head: Uint8Array): string {
  const b = (i: number) => head[i] ?? -1;
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (b(0) === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'image/jpeg';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(4, 12) === 'ftypavif') return 'image/avif';
  // safetensors (8-byte header length then JSON), latents and everything else: opaque bytes.
  return 'application/octet-stream';
}

export function servedContentType(
  recorded: string | undefined,
  head: Uint8Array,
): {
  type: string;
  inline: boolean;
} {
  const base = recorded?.split(';')[0]?.trim().toLowerCase();
  const type = base && base.length > 0 ? base : sniffContentType(head);
  return {
    type: INLINE_TYPES.has(type) ? (type === 'text/plain' ? 'text/plain; charset=utf-8' : type) : type,
    inline: INLINE_TYPES.has(type),
  };
}
