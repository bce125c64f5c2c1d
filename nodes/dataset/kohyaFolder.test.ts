import { describe, expect, it } from 'vitest';
import { firstLine, kohyaFolderName, parseKohyaFolderName } from './kohyaFolder.ts';

describe('parseKohyaFolderName', () => {
  it.each([
    ['10_sks dog', { repeats: 10, instance: 'sks', className: 'dog', caption: 'sks dog' }],
    ['1_ohwx', { repeats: 1, instance: 'ohwx', className: '', caption: 'ohwx' }],
    [
      '40_my_char young woman',
      { repeats: 40, instance: 'my_char', className: 'young woman', caption: 'my_char young woman' },
    ],
    ['5_', { repeats: 5, instance: '', className: '', caption: '' }],
  ])('%s', (name, expected) => {
    expect(parseKohyaFolderName(name)).toEqual({ ok: true, ...expected });
  });

  it.each(['sks dog', 'dog_10', '_10 dog', 'x10_dog'])('%s has no repeat prefix', (name) => {
    const r = parseKohyaFolderName(name);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('no repeat prefix');
  });

  it('refuses zero repeats', () => {
    const r = parseKohyaFolderName('0_sks dog');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('at least 1');
  });
});

describe('kohyaFolderName and firstLine', () => {
  it('round-trips through the parser', () => {
    const name = kohyaFolderName(10, 'sks', 'dog');
    expect(name).toBe('10_sks dog');
    expect(parseKohyaFolderName(name)).toMatchObject({ repeats: 10, instance: 'sks', className: 'dog' });
    expect(kohyaFolderName(3, 'a/b', '')).toBe('3_a_b');
    expect(kohyaFolderName(0, '', '')).toBe('1_images');
  });

  it('reads the first line, without a BOM', () => {
    expect(firstLine('\ufeffsks, dog \r\nsecond')).toBe('sks, dog');
    expect(firstLine('')).toBe('');
  });
});
