import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FileArtifactStore } from './artifactStore.ts';
import type { AppDatabase } from './database.ts';

export type GcResult = {
  /** Bytes used by artifacts and cache rows before and after. */
  beforeBytes: number;
  afterBytes: number;
  freedBytes: number;
  removedEntries: number;
  removedItems: number;
  removedArtifacts: number;
  /** Artifacts kept only because a queued or running run references them. */
  keptPinned: number;
  limitBytes: number;
  /** Files in the store's temp directory left behind by crashed or killed runs, removed. */
  removedTempFiles: number;
};

const DAY_MS = 24 * 60 * 60 * 1000;

type Entry = {
  table: 'cache_entries' | 'item_cache';
  key: string;
  size: number;
  refs: string[];
  lastUsed: number;
};

/**
 * Size-bounded, least-recently-used garbage collection over the node cache, the per-item cache and their
 * artifacts. Artifacts referenced by a pinned run (queued or running) are never deleted, and neither are
 * unreferenced artifacts stored since the oldest active pin (a running node may be about to return them).
 */
export class CacheGc {
  private readonly pins = new Map<string, { hashes: Set<string>; since: number }>();

  constructor(
    private readonly db: AppDatabase,
    private readonly store: FileArtifactStore,
  ) {}

  /** Protects the artifacts a queued/running run references until `unpin(runId)`; call again to add more. */
  pin(runId: string, hashes: Iterable<string> = []): void {
    const existing = this.pins.get(runId);
    if (existing) for (const h of hashes) existing.hashes.add(h);
    else this.pins.set(runId, { hashes: new Set(hashes), since: Date.now() });
  }

  unpin(runId: string): void {
    this.pins.delete(runId);
  }

  pinnedHashes(): Set<string> {
    const all = new Set<string>();
    for (const p of this.pins.values()) for (const h of p.hashes) all.add(h);
    return all;
  }

  /** Bytes used now: artifacts plus cache rows. */
  usage(): { artifactBytes: number; cacheBytes: number; totalBytes: number } {
    const artifactBytes = this.store.usage().bytes;
    const row = this.db.sqlite
      .prepare(
        'SELECT (SELECT COALESCE(SUM(size), 0) FROM cache_entries) + (SELECT COALESCE(SUM(size), 0) FROM item_cache) AS n',
      )
      .get() as { n: number };
    return { artifactBytes, cacheBytes: row.n, totalBytes: artifactBytes + row.n };
  }

  /** Frees least-recently-used entries (and artifacts nothing else references) until usage ≤ maxBytes. */
  collect(options: { maxBytes: number; pinned?: Iterable<string>; tempMaxAgeMs?: number }): GcResult {
    const limitBytes = Math.max(0, options.maxBytes);
    const removedTempFiles = this.sweepTemp(options.tempMaxAgeMs ?? DAY_MS);
    const pinned = this.pinnedHashes();
    for (const h of options.pinned ?? []) pinned.add(h);
    const oldestPin = Math.min(...[...this.pins.values()].map((p) => p.since));

    const sqlite = this.db.sqlite;
    const artifacts = new Map(this.store.list().map((a) => [a.hash, a]));
    const entries: Entry[] = [];
    for (const table of ['cache_entries', 'item_cache'] as const) {
      const rows = sqlite.prepare(`SELECT key, size, refs, last_used FROM ${table}`).all() as {
        key: string;
        size: number;
        refs: string;
        last_used: number;
      }[];
      for (const r of rows) {
        entries.push({
          table,
          key: r.key,
          size: r.size,
          refs: JSON.parse(r.refs) as string[],
          lastUsed: r.last_used,
        });
      }
    }
    entries.sort((a, b) => a.lastUsed - b.lastUsed);
    const refCount = new Map<string, number>();
    for (const e of entries) for (const h of e.refs) refCount.set(h, (refCount.get(h) ?? 0) + 1);

    let total = entries.reduce((n, e) => n + e.size, 0);
    for (const a of artifacts.values()) total += a.size;
    const beforeBytes = total;
    let removedEntries = 0;
    let removedItems = 0;
    let removedArtifacts = 0;
    const keptPinned = new Set<string>();

    const dropArtifact = (hash: string) => {
      const a = artifacts.get(hash);
      if (!a) return;
      if (pinned.has(hash)) {
        keptPinned.add(hash);
        return;
      }
      total -= a.size;
      this.store.evict(hash);
      artifacts.delete(hash);
      removedArtifacts++;
    };

    // Artifacts no cache row references go first, oldest first (outputs of never-cached nodes, leftovers).
    const orphans = [...artifacts.values()]
      .filter((a) => !refCount.has(a.hash) && a.created < oldestPin)
      .sort((a, b) => a.created - b.created);
    for (const a of orphans) {
      if (total <= limitBytes) break;
      dropArtifact(a.hash);
    }

    const deletes = {
      cache_entries: sqlite.prepare('DELETE FROM cache_entries WHERE key = ?'),
      item_cache: sqlite.prepare('DELETE FROM item_cache WHERE key = ?'),
    };
    const removeRows = sqlite.transaction((victims: Entry[]) => {
      for (const e of victims) deletes[e.table].run(e.key);
    });
    const victims: Entry[] = [];
    for (const e of entries) {
      if (total <= limitBytes) break;
      victims.push(e);
      total -= e.size;
      if (e.table === 'cache_entries') removedEntries++;
      else removedItems++;
      for (const h of e.refs) {
        const left = (refCount.get(h) ?? 1) - 1;
        refCount.set(h, left);
        if (left === 0) dropArtifact(h);
      }
    }
    removeRows(victims);
    return {
      beforeBytes,
      afterBytes: total,
      freedBytes: beforeBytes - total,
      removedEntries,
      removedItems,
      removedArtifacts,
      keptPinned: keptPinned.size,
      limitBytes,
      removedTempFiles,
    };
  }

  /** Removes temp files older than `maxAgeMs` (a live node's temp file is younger than any run can be idle). */
  sweepTemp(maxAgeMs: number): number {
    const cutoff = Date.now() - maxAgeMs;
    let removed = 0;
    for (const name of readdirSync(this.store.tmpDir)) {
      const path = join(this.store.tmpDir, name);
      try {
        if (statSync(path).mtimeMs < cutoff) {
          rmSync(path, { recursive: true, force: true });
          removed++;
        }
      } catch {
        // vanished meanwhile
      }
    }
    return removed;
  }
}

export function createCacheGc(db: AppDatabase, store: FileArtifactStore): CacheGc {
  return new CacheGc(db, store);
}
