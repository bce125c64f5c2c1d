import { describe, expect, it } from 'vitest';
import { matchShortcut, SHORTCUTS } from './shortcuts.ts';

const key = (k: string, mods: Partial<{ ctrl: boolean; shift: boolean; meta: boolean }> = {}) => ({
  key: k,
  ctrlKey: mods.ctrl ?? false,
  metaKey: mods.meta ?? false,
  shiftKey: mods.shift ?? false,
  altKey: false,
});

describe('keyboard shortcuts', () => {
  it('maps the documented keys', () => {
    expect(matchShortcut(key('Enter', { ctrl: true }), false)).toBe('run');
    expect(matchShortcut(key('Enter', { ctrl: true, shift: true }), false)).toBe('runSelected');
    expect(matchShortcut(key('s', { ctrl: true }), false)).toBe('save');
    expect(matchShortcut(key('o', { meta: true }), false)).toBe('open');
    expect(matchShortcut(key('z', { ctrl: true }), false)).toBe('undo');
    expect(matchShortcut(key('Z', { ctrl: true, shift: true }), false)).toBe('redo');
    expect(matchShortcut(key('Delete'), false)).toBe('delete');
    expect(matchShortcut(key('c', { ctrl: true }), false)).toBe('copy');
    expect(matchShortcut(key('v', { ctrl: true }), false)).toBe('paste');
    expect(matchShortcut(key('x'), false)).toBeNull();
  });
  it('leaves editing keys to text fields but still runs and saves from them', () => {
    expect(matchShortcut(key('z', { ctrl: true }), true)).toBeNull();
    expect(matchShortcut(key('Backspace'), true)).toBeNull();
    expect(matchShortcut(key('Enter', { ctrl: true }), true)).toBe('run');
    expect(matchShortcut(key('s', { ctrl: true }), true)).toBe('save');
  });
  it('documents every shortcut it handles', () => {
    expect(new Set(SHORTCUTS.map((s) => s.id)).size).toBe(SHORTCUTS.length);
  });
});
