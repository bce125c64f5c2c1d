import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ModelArch } from '../sdk/values.ts';
import { AUTO, autoOr, describeSize, NATIVE_SIZE, resolveSize } from './autoSize.ts';

describe('auto sizes', () => {
  it('resolve to each base model own size', () => {
    expect(Object.fromEntries(ModelArch.options.map((a) => [a, resolveSize(AUTO, a)]))).toEqual({
      sd1: 512,
      sd2: 512,
      'sd2-v': 768,
      sdxl: 1024,
    });
    expect(Object.keys(NATIVE_SIZE).sort()).toEqual([...ModelArch.options].sort());
  });

  it('leave plain numbers as they are on every model', () => {
    for (const arch of ModelArch.options) expect(resolveSize(512, arch)).toBe(512);
    expect(resolveSize(640, 'sdxl')).toBe(640);
  });

  it('say the resolved size and which side was auto', () => {
    expect(describeSize(AUTO, AUTO, 'sdxl')).toBe('1024x1024 (auto for sdxl)');
    expect(describeSize(AUTO, AUTO, 'sd2-v')).toBe('768x768 (auto for sd2-v)');
    expect(describeSize(AUTO, 512, 'sdxl')).toBe('1024x512 (width auto for sdxl)');
    expect(describeSize(640, AUTO, 'sd1')).toBe('640x512 (height auto for sd1)');
    expect(describeSize(512, 768, 'sdxl')).toBe('512x768');
  });

  it('schema: defaults to auto, keeps numbers (old workflows) and names both choices on bad input', () => {
    const s = z.object({
      width: autoOr(z.number().int().min(64).max(2048).multipleOf(8, 'must be a multiple of 8')),
    });
    expect(s.parse({})).toEqual({ width: 'auto' });
    expect(s.parse({ width: 512 })).toEqual({ width: 512 });
    expect(s.parse({ width: 'auto' })).toEqual({ width: 'auto' });
    // A number keeps the number's own message.
    expect(s.safeParse({ width: 100 }).error?.issues[0]?.message).toBe('must be a multiple of 8');
    expect(s.safeParse({ width: 4096 }).error?.issues[0]?.message).toMatch(/<=2048/);
    const word = s.safeParse({ width: 'big' }).error?.issues[0]?.message ?? '';
    expect(word).toMatch(/^a number or "auto"/);
    expect(word).toContain('1024 for SDXL');
    // The JSON Schema the editor reads: the word and the number side by side.
    const json = z.toJSONSchema(s, { io: 'input' }) as unknown as {
      properties: { width: Record<string, unknown> };
    };
    expect(json.properties.width).toMatchObject({
      default: 'auto',
      anyOf: [{ const: 'auto' }, { type: 'integer', minimum: 64, maximum: 2048, multipleOf: 8 }],
    });
  });
});
