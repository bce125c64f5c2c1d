import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { coreMigrations } from './migrations.ts';

export type Sqlite = BetterSqlite3.Database;

/** A named schema change. `up` is SQL (may hold several statements) or a function run in a transaction. */
export type Migration = { name: string; up: string | ((db: Sqlite) => void) };

/**
 * The loraflow SQLite database (`<dataDir>/loraflow.db`, WAL). Core tables (artifacts, cache) are created on
 * open; other features add theirs with `migrate()`, which applies each named migration exactly once.
 */
export class AppDatabase {
  readonly sqlite: Sqlite;
  readonly dataDir: string;

  constructor(sqlite: Sqlite, dataDir: string) {
    this.sqlite = sqlite;
    this.dataDir = dataDir;
    sqlite.exec(
      'CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID',
    );
  }

  /** Applies a migration unless one with this name was applied before. Returns whether it ran now. */
  migrate(name: string, up: Migration['up']): boolean {
    const db = this.sqlite;
    const apply = db.transaction(() => {
      if (db.prepare('SELECT 1 FROM migrations WHERE name = ?').get(name)) return false;
      if (typeof up === 'string') db.exec(up);
      else up(db);
      db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run(name, Date.now());
      return true;
    });
    return apply.immediate();
  }

  /** Applies a list of migrations in order (e.g. a feature's exported migration list). */
  migrateAll(migrations: readonly Migration[]): void {
    for (const m of migrations) this.migrate(m.name, m.up);
  }

  appliedMigrations(): string[] {
    return (
      this.sqlite.prepare('SELECT name FROM migrations ORDER BY applied_at, name').all() as { name: string }[]
    ).map((r) => r.name);
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }
}

/**
 * Opens (creating if needed) the database in `dataDir` and applies the core migrations. Pass
 * `{ memory: true }` for a throwaway in-memory database (artifacts still go to `dataDir`).
 */
export function openDatabase(dataDir: string, options: { memory?: boolean } = {}): AppDatabase {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new BetterSqlite3(options.memory ? ':memory:' : join(dataDir, 'loraflow.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new AppDatabase(sqlite, dataDir);
  db.migrateAll(coreMigrations);
  return db;
}
