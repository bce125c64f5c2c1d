import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison. Hashing first gives equal lengths, so the length of the token does not leak either. */
export function tokensMatch(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A fresh random token for `--token auto` (192 bits, URL-safe). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}
