import type { Migration } from '../store/database.ts';

/** Tables of the run queue and history. Append new migrations; never edit one that has shipped. */
export const queueMigrations: readonly Migration[] = [
  {
    name: 'queue-001-runs',
    up: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        status TEXT NOT NULL,
        name TEXT,
        workflow TEXT NOT NULL,
        outputs TEXT,
        created INTEGER NOT NULL,
        started INTEGER,
        finished INTEGER,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX runs_status_seq ON runs (status, seq);

      CREATE TABLE run_nodes (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        node_id TEXT NOT NULL,
        node_type TEXT NOT NULL,
        status TEXT NOT NULL,
        outputs TEXT,
        display TEXT,
        error TEXT,
        reason TEXT,
        logs TEXT,
        started INTEGER,
        finished INTEGER,
        PRIMARY KEY (run_id, node_id)
      ) WITHOUT ROWID;

      CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        node_id TEXT NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;
      CREATE INDEX run_events_node_type ON run_events (run_id, node_id, type, seq);
    `,
  },
];
