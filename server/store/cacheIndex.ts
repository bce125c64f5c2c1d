import type BetterSqlite3 from 'better-sqlite3';
import type { NodeDisplay } from '../../nodes/sdk/defineNode.ts';
import type { FileArtifactStore } from './artifactStore.ts';
import type { AppDatabase } from './database.ts';
import { collectArtifactHashes } from './hash.ts';

export type CachedNode = {
  outputs: Record<string, unknown>;
  display?: NodeDisplay;
  /** sha256 of each output value's canonical JSON. */
  outputHashes: Record<string, string>;
  /** Artifacts the outputs and display reference. */
  refs: string[];
};

const TOUCH_GRANULARITY_MS = 60_000;

type Row = { outputs: string; display: string | null; refs: string; output_hashes: string };

/**
 * The persistent node cache: key → outputs, display, referenced artifact hashes, size, created, last used.
 * An entry whose artifacts are missing or corrupt is dropped on lookup and reported as a miss.
 */
export class CacheIndex {
  private readonly stmts: {
    get: BetterSqlite3.Statement<[string], Row>;
    put: BetterSqlite3.Statement<
      [string, string, string, string | null, string, string, number, number, number]
    >;
    remove: BetterSqlite3.Statement<[string]>;
    stats: BetterSqlite3.Statement<[], { n: number; bytes: number | null }>;
  };
  private readonly touchMany: (keys: readonly string[], at: number) => void;

  constructor(
    readonly db: AppDatabase,
    private readonly store: Pick<FileArtifactStore, 'verify' | 'has'>,
  ) {
    const s = db.sqlite;
    this.stmts = {
      get: s.prepare('SELECT outputs, display, refs, output_hashes FROM cache_entries WHERE key = ?'),
      put: s.prepare(
        `INSERT INTO cache_entries (key, node_type, outputs, display, refs, output_hashes, size, created, last_used)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET outputs = excluded.outputs, display = excluded.display, refs = excluded.refs,
           output_hashes = excluded.output_hashes, size = excluded.size, last_used = excluded.last_used`,
      ),
      remove: s.prepare('DELETE FROM cache_entries WHERE key = ?'),
      stats: s.prepare('SELECT COUNT(*) AS n, SUM(size) AS bytes FROM cache_entries'),
    };
    // Entries used within the last minute are not rewritten: LRU needs no finer grain, and a re-run of a
    // cached workflow then writes nothing.
    const touchJson = s.prepare(
      'UPDATE cache_entries SET last_used = ? WHERE key IN (SELECT value FROM json_each(?)) AND last_used < ?',
    );
    this.touchMany = (keys, at) => {
      touchJson.run(at, JSON.stringify(keys), at - TOUCH_GRANULARITY_MS);
    };
  }

  /** The cached result for `key`, or undefined on a miss (including an entry with a missing artifact). */
  get(key: string, outputNames: readonly string[]): CachedNode | undefined {
    const row = this.stmts.get.get(key);
    if (!row) return undefined;
    const refs = JSON.parse(row.refs) as string[];
    const outputHashes = JSON.parse(row.output_hashes) as Record<string, string>;
    if (
      !refs.every((h) => this.store.verify(h)) ||
      !outputNames.every((n) => typeof outputHashes[n] === 'string')
    ) {
      this.stmts.remove.run(key);
      return undefined;
    }
    const hit: CachedNode = {
      outputs: JSON.parse(row.outputs) as Record<string, unknown>,
      outputHashes,
      refs,
    };
    if (row.display !== null) hit.display = JSON.parse(row.display) as NodeDisplay;
    return hit;
  }

  put(key: string, nodeType: string, entry: Omit<CachedNode, 'refs'>): void {
    const outputs = JSON.stringify(entry.outputs);
    const display = entry.display === undefined ? null : JSON.stringify(entry.display);
    const refs = collectArtifactHashes(entry.outputs);
    if (entry.display !== undefined) collectArtifactHashes(entry.display, refs);
    // Only hashes naming stored artifacts are references (a MODEL value's checkpoint sha256 is not one).
    const refsJson = JSON.stringify([...refs].filter((h) => this.store.has(h)));
    const size = outputs.length + (display?.length ?? 0) + refsJson.length;
    const now = Date.now();
    this.stmts.put.run(
      key,
      nodeType,
      outputs,
      display,
      refsJson,
      JSON.stringify(entry.outputHashes),
      size,
      now,
      now,
    );
  }

  /** Marks entries as used now, in one transaction (LRU order for GC). */
  touch(keys: readonly string[], at = Date.now()): void {
    if (keys.length > 0) this.touchMany(keys, at);
  }

  delete(key: string): void {
    this.stmts.remove.run(key);
  }

  stats(): { entries: number; bytes: number } {
    const r = this.stmts.stats.get();
    return { entries: r?.n ?? 0, bytes: r?.bytes ?? 0 };
  }
}
