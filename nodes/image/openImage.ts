import sharp, { type Sharp, type SharpOptions } from 'sharp';

/**
 * The most pixels loraflow decodes from a user's image: 100 MP still opens the photos of 100 MP cameras,
 * while a decompression bomb (a small PNG declaring, say, 50000 x 50000) is refused from its header,
 * before any pixel is allocated. sharp's own default (268 MP, 0.8 GB as RGB) is too generous for a server.
 */
export const MAX_INPUT_PIXELS = 100_000_000;

/**
 * `sharp(input)` for bytes or files that come from users (datasets, uploads, PNGs to import). Every decode of
 * such input goes through here so the pixel limit holds everywhere; `tests/security/noCodeExecution.test.ts`
 * checks that no other module decodes with sharp directly.
 */
export function openImage(
  input: Buffer | Uint8Array | string,
  options: Omit<SharpOptions, 'raw'> = {},
): Sharp {
  return sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, ...options });
}

/** True when sharp refused an image for its size (the decompression-bomb guard). */
export function isPixelLimitError(e: unknown): boolean {
  return e instanceof Error && /pixel limit/i.test(e.message);
}
