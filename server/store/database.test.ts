import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { openDatabase } from './database.ts';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

describe('openDatabase', () => {
  it('uses WAL and applies the core migrations once', () => {
    const db = openDatabase(tmp.dir);
    expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    const applied = db.appliedMigrations();
    expect(applied).toEqual(expect.arrayContaining(['store-001-artifacts', 'store-002-node-cache']));
    db.close();
    const again = openDatabase(tmp.dir);
    expect(again.appliedMigrations()).toEqual(applied);
    again.close();
  });

  it('migrate() applies a named feature migration exactly once, across reopen', () => {
    const db = openDatabase(tmp.dir);
    expect(db.migrate('runs-001', 'CREATE TABLE runs (id TEXT PRIMARY KEY)')).toBe(true);
    expect(db.migrate('runs-001', 'CREATE TABLE runs (id TEXT PRIMARY KEY)')).toBe(false);
    db.sqlite.prepare('INSERT INTO runs VALUES (?)').run('r1');
    db.close();
    const again = openDatabase(tmp.dir);
    expect(again.migrate('runs-001', 'CREATE TABLE runs (id TEXT PRIMARY KEY)')).toBe(false);
    expect(again.sqlite.prepare('SELECT id FROM runs').all()).toEqual([{ id: 'r1' }]);
    again.close();
  });

  it('a failing migration is rolled back and not recorded', () => {
    const db = openDatabase(tmp.dir);
    expect(() => db.migrate('bad', 'CREATE TABLE t (a INTEGER); SELECT * FROM missing_table;')).toThrow();
    expect(db.appliedMigrations()).not.toContain('bad');
    expect(db.migrate('bad', 'CREATE TABLE t (a INTEGER)')).toBe(true);
    db.close();
  });
});
