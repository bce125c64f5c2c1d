import { describe, expect, it } from 'vitest';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { canBypass } from './bypass.ts';

describe('bypass', () => {
  const defs = fixtureDefs().byType;
  it('is possible when every output has an input of its type, or there are no outputs', () => {
    expect(canBypass(defs['test/resize']!)).toEqual({ ok: true });
    expect(canBypass(defs['test/save']!)).toEqual({ ok: true });
  });
  it('is refused with a reason when an output has nothing to pass through', () => {
    expect(canBypass(defs['test/load-images']!)).toEqual({
      ok: false,
      reason: 'no IMAGES input to pass through to the output "images"',
    });
    expect(canBypass(defs['test/train']!).ok).toBe(false);
  });
});
