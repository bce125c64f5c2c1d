import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import {
  ArtifactCorruptError,
  ArtifactNotFoundError,
  createArtifactStore,
  type FileArtifactStore,
} from './artifactStore.ts';
import { type AppDatabase, openDatabase } from './database.ts';
import { sha256Hex } from './hash.ts';

let tmp: ReturnType<typeof makeTempDir>;
let db: AppDatabase;
let store: FileArtifactStore;

beforeEach(() => {
  tmp = makeTempDir();
  db = openDatabase(tmp.dir);
  store = createArtifactStore(db);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('FileArtifactStore', () => {
  it('stores bytes under artifacts/ab/cdef… by sha256 and reads them back', async () => {
    const bytes = Buffer.from('hello artifacts');
    const hash = await store.put(bytes, { contentType: 'text/plain', label: 'greeting' });
    expect(hash).toBe(sha256Hex(bytes));
    expect(store.pathOf(hash)).toBe(`${tmp.dir}/artifacts/${hash.slice(0, 2)}/${hash.slice(2)}`);
    expect(store.has(hash)).toBe(true);
    expect(await store.get(hash)).toEqual(bytes);
    expect(store.meta(hash)).toEqual({ contentType: 'text/plain', label: 'greeting' });
    expect(store.size(hash)).toBe(bytes.length);
    expect(readdirSync(store.tmpDir)).toEqual([]);
  });

  it('storing the same bytes twice is a no-op', async () => {
    const a = await store.put(Buffer.from('same'));
    const b = await store.put(Buffer.from('same'));
    expect(a).toBe(b);
    expect(store.usage()).toEqual({ count: 1, bytes: 4 });
  });

  it('storing bytes again repairs a corrupt blob', async () => {
    const bytes = Buffer.from('precious');
    const hash = await store.put(bytes);
    writeFileSync(store.pathOf(hash), 'rotten!!');
    const later = new Date(Date.now() + 60_000);
    utimesSync(store.pathOf(hash), later, later);
    expect(await store.put(bytes)).toBe(hash);
    expect(await store.get(hash)).toEqual(bytes);
  });

  it('putFile consumes the source file', async () => {
    const src = store.tempPath('.bin');
    writeFileSync(src, 'file body');
    const hash = await store.putFile(src, { label: 'f' });
    expect(existsSync(src)).toBe(false);
    expect((await store.get(hash)).toString()).toBe('file body');
    const again = store.tempPath();
    writeFileSync(again, 'file body');
    expect(await store.putFile(again)).toBe(hash);
    expect(existsSync(again)).toBe(false);
  });

  it('evicts a corrupt blob on read and throws', async () => {
    const hash = await store.put(Buffer.from('original'));
    writeFileSync(store.pathOf(hash), 'tampered');
    await expect(store.get(hash)).rejects.toBeInstanceOf(ArtifactCorruptError);
    expect(store.has(hash)).toBe(false);
    expect(store.meta(hash)).toBeUndefined();
  });

  it('throws a clear error for a missing blob', async () => {
    await expect(store.get('0'.repeat(64))).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(store.get('nope')).rejects.toThrow(/not a sha256/);
  });

  it('verify() detects missing, resized and rewritten blobs', async () => {
    const hash = await store.put(Buffer.from('abc'));
    expect(store.verify(hash)).toBe(true);
    writeFileSync(store.pathOf(hash), 'xyz'); // same size, new mtime → re-hashed
    const later = new Date(Date.now() + 60_000);
    utimesSync(store.pathOf(hash), later, later); // file systems with coarse mtimes must still see a change
    expect(store.verify(hash)).toBe(false);
    expect(store.has(hash)).toBe(false);
    const h2 = await store.put(Buffer.from('defg'));
    writeFileSync(store.pathOf(h2), 'longer content');
    expect(store.verify(h2)).toBe(false);
    expect(store.verify('1'.repeat(64))).toBe(false);
  });

  it('metadata survives reopening the database', async () => {
    const hash = await store.put(Buffer.from('persist'), { contentType: 'image/png' });
    db.close();
    db = openDatabase(tmp.dir);
    store = createArtifactStore(db);
    expect(store.meta(hash)).toEqual({ contentType: 'image/png' });
    expect(store.verify(hash)).toBe(true);
  });
});
