import type { Migration } from './database.ts';

/** Schema of the store's own tables. Append new migrations; never edit one that has shipped. */
export const coreMigrations: readonly Migration[] = [
  {
    name: 'store-001-artifacts',
    up: `
      CREATE TABLE artifacts (
        hash TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        content_type TEXT,
        label TEXT,
        created INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    name: 'store-002-node-cache',
    up: `
      CREATE TABLE cache_entries (
        key TEXT PRIMARY KEY,
        node_type TEXT NOT NULL,
        outputs TEXT NOT NULL,
        display TEXT,
        refs TEXT NOT NULL,
        size INTEGER NOT NULL,
        created INTEGER NOT NULL,
        last_used INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX cache_entries_last_used ON cache_entries (last_used);
    `,
  },
  {
    name: 'store-003-item-cache',
    up: `
      CREATE TABLE item_cache (
        key TEXT PRIMARY KEY,
        node_type TEXT NOT NULL,
        result TEXT NOT NULL,
        refs TEXT NOT NULL,
        size INTEGER NOT NULL,
        created INTEGER NOT NULL,
        last_used INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX item_cache_last_used ON item_cache (last_used);
    `,
  },
  {
    // Hashes of each output value, so a cached node's dependents get their cache keys without re-hashing.
    name: 'store-004-cache-output-hashes',
    up: "ALTER TABLE cache_entries ADD COLUMN output_hashes TEXT NOT NULL DEFAULT '{}'",
  },
];
