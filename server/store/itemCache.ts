import type BetterSqlite3 from 'better-sqlite3';
import type { PerItemCache } from '../../nodes/sdk/context.ts';
import { abortError, isAbortError } from '../../nodes/sdk/errors.ts';
import { canonicalJson } from '../workflow/canonicalJson.ts';
import type { FileArtifactStore } from './artifactStore.ts';
import type { AppDatabase } from './database.ts';
import { collectArtifactHashes, sha256Parts } from './hash.ts';

type ItemRow = { result: string; refs: string };
type ItemStatements = {
  get: BetterSqlite3.Statement<[string], ItemRow>;
  touch: BetterSqlite3.Statement<[number, string]>;
  put: BetterSqlite3.Statement<[string, string, string, string, number, number, number]>;
};

/** Statements are prepared once per database, not once per node run. */
const statements = new WeakMap<AppDatabase, ItemStatements>();
function statementsFor(db: AppDatabase): ItemStatements {
  let stmts = statements.get(db);
  if (!stmts) {
    const s = db.sqlite;
    stmts = {
      get: s.prepare('SELECT result, refs FROM item_cache WHERE key = ?'),
      touch: s.prepare('UPDATE item_cache SET last_used = ? WHERE key = ?'),
      put: s.prepare(
        `INSERT INTO item_cache (key, node_type, result, refs, size, created, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET result = excluded.result, refs = excluded.refs, size = excluded.size,
           last_used = excluded.last_used`,
      ),
    };
    statements.set(db, stmts);
  }
  return stmts;
}

export type ItemCacheOptions = {
  db: AppDatabase;
  /** Used to check that artifacts a cached result references still exist; a missing one is a miss. */
  store?: Pick<FileArtifactStore, 'verify' | 'has'>;
  nodeType: string;
  nodeVersion: string;
  signal?: AbortSignal;
};

const DEFAULT_CONCURRENCY = 4;

/** The key of one item's result: sha256(node type, node version, canonical salt, item key). */
export function itemCacheKey(
  nodeType: string,
  nodeVersion: string,
  saltJson: string,
  itemKey: string,
): string {
  return sha256Parts([nodeType, nodeVersion, saltJson, itemKey]);
}

/**
 * SQLite-persisted per-item cache. Each computed result is written as soon as it finishes, so a cancelled
 * or failed map keeps the work already done and the next run resumes from there.
 */
export class SqliteItemCache implements PerItemCache {
  private readonly stmts: ItemStatements;

  constructor(private readonly options: ItemCacheOptions) {
    this.stmts = statementsFor(options.db);
  }

  async map<T, R>(
    items: readonly T[],
    opts: {
      key: (item: T) => string;
      salt: unknown;
      concurrency?: number;
      run: (item: T, index: number) => Promise<R>;
      onItem?: (done: number, total: number, cached: boolean) => void;
    },
  ): Promise<R[]> {
    const { nodeType, nodeVersion, signal, store } = this.options;
    if (signal?.aborted) throw abortError();
    const saltJson = canonicalJson(opts.salt);
    const total = items.length;
    const keys = items.map((item) => itemCacheKey(nodeType, nodeVersion, saltJson, opts.key(item)));
    const results = new Array<R>(total);
    const pending: number[] = [];

    const now = Date.now();
    const lookup = this.options.db.sqlite.transaction(() => {
      for (let i = 0; i < total; i++) {
        const key = keys[i]!;
        const row = this.stmts.get.get(key);
        if (row && (!store || (JSON.parse(row.refs) as string[]).every((h) => store.verify(h)))) {
          results[i] = (JSON.parse(row.result) as { v: R }).v;
          this.stmts.touch.run(now, key);
        } else {
          pending.push(i);
        }
      }
    });
    lookup();

    let done = 0;
    for (let i = 0; i < total - pending.length; i++) opts.onItem?.(++done, total, true);

    // Items with the same key (duplicate images) are computed once.
    const byKey = new Map<string, number[]>();
    for (const i of pending) {
      const same = byKey.get(keys[i]!);
      if (same) same.push(i);
      else byKey.set(keys[i]!, [i]);
    }
    const work = [...byKey.values()];
    const concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_CONCURRENCY));
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (!failure && next < work.length) {
        if (signal?.aborted) {
          failure ??= { error: abortError() };
          return;
        }
        const indices = work[next++]!;
        const index = indices[0]!;
        try {
          const result = await opts.run(items[index]!, index);
          this.save(keys[index]!, result);
          for (const i of indices) {
            results[i] = result;
            opts.onItem?.(++done, total, false);
          }
        } catch (error) {
          failure ??= { error: wrapItemError(error, index, total) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
    if (failure) throw failure.error;
    return results;
  }

  private save(key: string, result: unknown): void {
    const json = JSON.stringify({ v: result === undefined ? null : result });
    const { store } = this.options;
    const hashes = [...collectArtifactHashes(result)];
    // Only hashes naming stored artifacts are references; others (e.g. a model's sha256) are plain data.
    const refs = JSON.stringify(store ? hashes.filter((h) => store.has(h)) : hashes);
    const now = Date.now();
    this.stmts.put.run(key, this.options.nodeType, json, refs, json.length, now, now);
  }
}

function wrapItemError(error: unknown, index: number, total: number): unknown {
  if (isAbortError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`item ${index + 1} of ${total}: ${message}`, { cause: error });
}

export function createItemCache(options: ItemCacheOptions): SqliteItemCache {
  return new SqliteItemCache(options);
}
