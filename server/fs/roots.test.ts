import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoots, type Roots } from './roots.ts';

let base: string;
let roots: Roots;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'loraflow-roots-'));
  for (const d of ['data/a/sub', 'data2/b', 'models', 'out', 'secret'])
    mkdirSync(join(base, d), { recursive: true });
  writeFileSync(join(base, 'data/a/img.png'), 'x');
  writeFileSync(join(base, 'data2/b/only-in-second.txt'), 'x');
  writeFileSync(join(base, 'secret/passwd'), 'secret');
  symlinkSync(join(base, 'secret'), join(base, 'data/escape'));
  symlinkSync(join(base, 'secret/passwd'), join(base, 'data/a/escape-file'));
  symlinkSync(join(base, 'data/a/sub'), join(base, 'data/inside-link'));
  roots = createRoots({
    dataset: [join(base, 'data'), join(base, 'data2')],
    model: [join(base, 'models')],
    output: join(base, 'out'),
  });
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('Roots.resolve', () => {
  it('resolves relative paths inside the first root where they exist', () => {
    const r = roots.resolve('dataset', 'a/img.png');
    expect(r).toMatchObject({ ok: true, rel: 'a/img.png', exists: true });
    const r2 = roots.resolve('dataset', 'b/only-in-second.txt');
    expect(r2).toMatchObject({ ok: true, rel: 'b/only-in-second.txt', exists: true });
    if (r2.ok) expect(r2.root.endsWith('data2')).toBe(true);
  });

  it('falls back to the first root for paths that do not exist yet', () => {
    const r = roots.resolve('output', 'new/run/file.safetensors');
    expect(r).toMatchObject({ ok: true, exists: false, rel: 'new/run/file.safetensors' });
  });

  it('accepts absolute paths inside a root and symlinks that stay inside', () => {
    expect(roots.resolve('dataset', join(base, 'data/a'))).toMatchObject({ ok: true, rel: 'a' });
    expect(roots.resolve('dataset', 'inside-link')).toMatchObject({ ok: true, rel: 'a/sub' });
  });

  it.each([
    ['../secret/passwd', '..'],
    ['a/../../secret', '..'],
    ['..', '..'],
    ['a\\..\\..\\secret', 'backslash'],
    ['C:/Windows', 'Windows drive'],
    ['a/img.png\0.txt', 'NUL'],
    ['/etc/passwd', 'outside'],
    ['escape/passwd', 'symlink'],
    ['escape', 'symlink'],
    ['a/escape-file', 'symlink'],
  ])('refuses %j', (p, why) => {
    const r = roots.resolve('dataset', p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });

  it('refuses absolute paths in a root of another kind', () => {
    const r = roots.resolve('model', join(base, 'data/a/img.png'));
    expect(r.ok).toBe(false);
  });

  it('refuses an absolute path that reaches outside through a symlink', () => {
    expect(roots.resolve('dataset', join(base, 'data/escape/passwd')).ok).toBe(false);
  });
});

describe('Roots.list', () => {
  it('merges the top level of every root and hides symlinks that lead out', async () => {
    const r = await roots.list('dataset', '');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const names = r.entries.map((e) => e.name);
    expect(names).toEqual(['a', 'b', 'inside-link']);
    expect(r.entries.find((e) => e.name === 'inside-link')?.type).toBe('dir');
  });

  it('lists a sub folder with root-relative paths', async () => {
    const r = await roots.list('dataset', 'a');
    expect(r).toMatchObject({ ok: true });
    if (!r.ok) return;
    expect(r.entries.map((e) => [e.path, e.type])).toEqual([
      ['a/sub', 'dir'],
      ['a/img.png', 'file'],
    ]);
  });

  it('answers 403 for escapes and 404 for missing folders', async () => {
    expect(await roots.list('dataset', '../secret')).toMatchObject({ ok: false, status: 403 });
    expect(await roots.list('dataset', 'escape')).toMatchObject({ ok: false, status: 403 });
    expect(await roots.list('dataset', 'nope')).toMatchObject({ ok: false, status: 404 });
  });
});
