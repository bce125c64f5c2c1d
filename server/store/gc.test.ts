import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { createArtifactStore, type FileArtifactStore } from './artifactStore.ts';
import { CacheIndex } from './cacheIndex.ts';
import { type AppDatabase, openDatabase } from './database.ts';
import { type CacheGc, createCacheGc } from './gc.ts';
import { createItemCache } from './itemCache.ts';

let tmp: ReturnType<typeof makeTempDir>;
let db: AppDatabase;
let store: FileArtifactStore;
let cache: CacheIndex;
let gc: CacheGc;

beforeEach(() => {
  tmp = makeTempDir();
  db = openDatabase(tmp.dir);
  store = createArtifactStore(db);
  cache = new CacheIndex(db, store);
  gc = createCacheGc(db, store);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

const KB = 1000;
const blob = (fill: string) => store.put(Buffer.alloc(KB, fill));

/** A cache entry `key` referencing the given artifacts, last used at `at`. */
function entry(key: string, at: number, ...hashes: string[]) {
  cache.put(key, 'test/basic/image', {
    outputs: { images: { kind: 'images', items: hashes.map((hash) => ({ hash, width: 1, height: 1 })) } },
    outputHashes: { images: 'x' },
  });
  db.sqlite.prepare('UPDATE cache_entries SET last_used = ? WHERE key = ?').run(at, key);
}

const has = (key: string) => cache.get(key, []) !== undefined;

describe('CacheGc', () => {
  it('frees least recently used entries and their artifacts until under the limit', async () => {
    const [a, b, c] = [await blob('a'), await blob('b'), await blob('c')];
    entry('old', 1, a);
    entry('mid', 2, b);
    entry('new', 3, c);
    const before = gc.usage().totalBytes;
    expect(before).toBeGreaterThan(3 * KB);
    const r = gc.collect({ maxBytes: before - KB });
    expect(r).toMatchObject({ removedEntries: 1, removedArtifacts: 1, beforeBytes: before });
    expect(r.afterBytes).toBeLessThanOrEqual(before - KB);
    expect(r.freedBytes).toBe(r.beforeBytes - r.afterBytes);
    expect(gc.usage().totalBytes).toBe(r.afterBytes);
    expect([store.has(a), store.has(b), store.has(c)]).toEqual([false, true, true]);
    expect([has('old'), has('mid'), has('new')]).toEqual([false, true, true]);
    expect(gc.collect({ maxBytes: 0 })).toMatchObject({
      removedEntries: 2,
      removedArtifacts: 2,
      afterBytes: 0,
    });
  });

  it('does nothing under the limit', async () => {
    entry('e', 1, await blob('a'));
    expect(gc.collect({ maxBytes: 1e9 })).toMatchObject({
      freedBytes: 0,
      removedEntries: 0,
      removedArtifacts: 0,
    });
  });

  it('keeps an artifact that another remaining entry still references', async () => {
    const shared = await blob('s');
    entry('old', 1, shared);
    entry('new', 2, shared);
    const r = gc.collect({ maxBytes: gc.usage().totalBytes - 1 });
    expect(r.removedEntries).toBe(1);
    expect(r.removedArtifacts).toBe(0);
    expect(store.has(shared)).toBe(true);
    expect(has('new')).toBe(true);
  });

  it('never deletes artifacts referenced by a pinned run, by pin() or by the pinned option', async () => {
    const [a, b] = [await blob('a'), await blob('b')];
    entry('e1', 1, a);
    entry('e2', 2, b);
    gc.pin('run-1', [a]);
    const r = gc.collect({ maxBytes: 0, pinned: [b] });
    expect(r).toMatchObject({ removedEntries: 2, removedArtifacts: 0, keptPinned: 2 });
    expect([store.has(a), store.has(b)]).toEqual([true, true]);
    gc.unpin('run-1');
    expect(gc.collect({ maxBytes: 0 }).removedArtifacts).toBe(2);
  });

  it('removes unreferenced artifacts first, but not ones stored while a run is active', async () => {
    const orphan = await blob('o');
    entry('e', 1, await blob('e'));
    await new Promise((r) => setTimeout(r, 5)); // the orphan predates the pin by whole milliseconds
    gc.pin('running');
    const fresh = await blob('f');
    const r = gc.collect({ maxBytes: gc.usage().totalBytes - 1 });
    expect(r).toMatchObject({ removedArtifacts: 1, removedEntries: 0 });
    expect([store.has(orphan), store.has(fresh)]).toEqual([false, true]);
  });

  it('a thumbnail hash in display makes the entry a miss once the thumbnail is gone', async () => {
    const thumb = await blob('t');
    cache.put('e', 'test/basic/thumbs', { outputs: {}, display: { thumbs: [{ thumb }] }, outputHashes: {} });
    expect(has('e')).toBe(true);
    store.evict(thumb);
    expect(has('e')).toBe(false);
  });

  it('counts any stored hash as a reference (thumbnails in display), but not hashes outside the store', async () => {
    const thumb = await blob('t');
    const modelSha = 'f'.repeat(64);
    cache.put('e', 'test/basic/model', {
      outputs: {
        model: { kind: 'model', path: '/m.safetensors', sha256: modelSha, arch: 'sd1', config: {} },
      },
      display: { thumbs: [{ thumb }] },
      outputHashes: { model: 'x' },
    });
    expect(has('e')).toBe(true); // the checkpoint's sha256 is not an artifact, so it cannot make a miss
    // Referenced, so not an orphan: GC has to drop the entry before it may drop the thumbnail.
    expect(gc.collect({ maxBytes: gc.usage().totalBytes - 1 })).toMatchObject({
      removedEntries: 1,
      removedArtifacts: 1,
    });
    expect(store.has(thumb)).toBe(false);
  });

  it('sweeps temp files older than the age limit', () => {
    const old = store.tempPath('.part');
    const fresh = store.tempPath('.part');
    writeFileSync(old, 'x');
    writeFileSync(fresh, 'y');
    const lastWeek = new Date(Date.now() - 7 * 24 * 3600 * 1000);
    utimesSync(old, lastWeek, lastWeek);
    expect(gc.collect({ maxBytes: 1e9 }).removedTempFiles).toBe(1);
    expect([existsSync(old), existsSync(fresh)]).toEqual([false, true]);
  });

  it('covers the per-item cache too', async () => {
    const items = createItemCache({ db, store, nodeType: 'test/basic/caption', nodeVersion: '1.0.0' });
    const thumb = await blob('t');
    await items.map(['x'], { key: (s) => s, salt: 0, run: async () => ({ hash: thumb }) });
    const r = gc.collect({ maxBytes: 0 });
    expect(r).toMatchObject({ removedItems: 1, removedArtifacts: 1, afterBytes: 0 });
    const calls: string[] = [];
    await items.map(['x'], {
      key: (s) => s,
      salt: 0,
      run: async (s) => {
        calls.push(s);
        return { hash: thumb };
      },
    });
    expect(calls).toEqual(['x']);
  });
});

describe('CacheIndex.touch', () => {
  it('moves entries up the LRU order, but not twice within a minute', () => {
    cache.put('k', 'test/basic/x', { outputs: {}, outputHashes: {} });
    const lastUsed = () =>
      (
        db.sqlite.prepare('SELECT last_used FROM cache_entries WHERE key = ?').get('k') as {
          last_used: number;
        }
      ).last_used;
    db.sqlite.prepare('UPDATE cache_entries SET last_used = 1000').run();
    cache.touch(['k'], 100_000);
    expect(lastUsed()).toBe(100_000);
    cache.touch(['k'], 130_000);
    expect(lastUsed()).toBe(100_000);
    cache.touch(['k'], 170_000);
    expect(lastUsed()).toBe(170_000);
  });
});
