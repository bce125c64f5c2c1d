import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { ArtifactMeta, ArtifactStore } from '../../nodes/sdk/artifacts.ts';
import { copyWholeFile, writeWholeFile } from '../fs/diskWrite.ts';
import type { AppDatabase } from './database.ts';
import { SHA256_RE, sha256File, sha256Hex } from './hash.ts';

type ArtifactRow = {
  hash: string;
  size: number;
  mtime_ms: number;
  content_type: string | null;
  label: string | null;
};

export class ArtifactNotFoundError extends Error {
  constructor(readonly hash: string) {
    super(
      `artifact ${hash} is not in the store (it may have been garbage-collected); re-run the node that made it`,
    );
    this.name = 'ArtifactNotFoundError';
  }
}

export class ArtifactCorruptError extends Error {
  constructor(readonly hash: string) {
    super(`artifact ${hash} was corrupt on disk and has been removed; re-run the node that made it`);
    this.name = 'ArtifactCorruptError';
  }
}

/**
 * Blobs under `<dataDir>/artifacts/ab/cdef…` named by their sha256; metadata (size, mtime, content type) in
 * SQLite. Writes go to `<dataDir>/tmp` first and are renamed into place, so a blob is whole or absent.
 */
export class FileArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly tmpDir: string;
  private readonly stmts: {
    get: BetterSqlite3.Statement<[string], ArtifactRow>;
    upsert: BetterSqlite3.Statement<[string, number, number, string | null, string | null, number]>;
    touchMtime: BetterSqlite3.Statement<[number, string]>;
    remove: BetterSqlite3.Statement<[string]>;
    all: BetterSqlite3.Statement<[], { hash: string; size: number; created: number }>;
    total: BetterSqlite3.Statement<[], { n: number; bytes: number | null }>;
  };

  constructor(readonly db: AppDatabase) {
    this.root = join(db.dataDir, 'artifacts');
    this.tmpDir = join(db.dataDir, 'tmp');
    mkdirSync(this.root, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    const s = db.sqlite;
    this.stmts = {
      get: s.prepare('SELECT hash, size, mtime_ms, content_type, label FROM artifacts WHERE hash = ?'),
      upsert: s.prepare(
        `INSERT INTO artifacts (hash, size, mtime_ms, content_type, label, created) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(hash) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
           content_type = COALESCE(excluded.content_type, artifacts.content_type),
           label = COALESCE(excluded.label, artifacts.label)`,
      ),
      touchMtime: s.prepare('UPDATE artifacts SET mtime_ms = ? WHERE hash = ?'),
      remove: s.prepare('DELETE FROM artifacts WHERE hash = ?'),
      all: s.prepare('SELECT hash, size, created FROM artifacts'),
      total: s.prepare('SELECT COUNT(*) AS n, SUM(size) AS bytes FROM artifacts'),
    };
  }

  pathOf(hash: string): string {
    assertHash(hash);
    return join(this.root, hash.slice(0, 2), hash.slice(2));
  }

  tempPath(suffix = ''): string {
    return join(this.tmpDir, `${randomUUID()}${suffix}`);
  }

  async put(data: Uint8Array, meta?: ArtifactMeta): Promise<string> {
    const hash = sha256Hex(data);
    const dest = this.pathOf(hash);
    // An existing blob is reused only if its bytes hash right (a flipped bit keeps size and mtime); a
    // corrupt one is evicted and rewritten.
    if (!(await this.intact(hash))) {
      const tmp = this.tempPath();
      await writeWholeFile(tmp, data, { exclusive: true, sync: false });
      await this.moveIntoPlace(tmp, dest);
    }
    this.record(hash, dest, meta);
    return hash;
  }

  async putFile(path: string, meta?: ArtifactMeta): Promise<string> {
    const { hash } = await sha256File(path);
    const dest = this.pathOf(hash);
    if (await this.intact(hash)) {
      unlinkSync(path);
    } else {
      await this.moveIntoPlace(path, dest);
    }
    this.record(hash, dest, meta);
    return hash;
  }

  /**
   * The blob's path for a reader that opens the file itself (the engine, sharp, ONNX), after hashing its
   * bytes: a corrupt blob is evicted and ArtifactCorruptError thrown, so it is never handed on.
   */
  async verifiedPath(hash: string): Promise<string> {
    const path = this.pathOf(hash);
    if (!existsSync(path)) {
      this.stmts.remove.run(hash);
      throw new ArtifactNotFoundError(hash);
    }
    if (!(await this.intact(hash))) throw new ArtifactCorruptError(hash);
    return path;
  }

  async get(hash: string): Promise<Buffer> {
    const path = this.pathOf(hash);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.stmts.remove.run(hash);
        throw new ArtifactNotFoundError(hash);
      }
      throw err;
    }
    if (sha256Hex(data) !== hash) {
      this.evict(hash);
      throw new ArtifactCorruptError(hash);
    }
    return data;
  }

  has(hash: string): boolean {
    return SHA256_RE.test(hash) && existsSync(this.pathOf(hash));
  }

  meta(hash: string): ArtifactMeta | undefined {
    if (!SHA256_RE.test(hash)) return undefined;
    const row = this.stmts.get.get(hash);
    if (!row) return undefined;
    const meta: ArtifactMeta = {};
    if (row.content_type !== null) meta.contentType = row.content_type;
    if (row.label !== null) meta.label = row.label;
    return meta;
  }

  /** Size in bytes as recorded, or undefined for an unknown hash. */
  size(hash: string): number | undefined {
    return SHA256_RE.test(hash) ? this.stmts.get.get(hash)?.size : undefined;
  }

  /**
   * Cheap integrity check used before trusting a cache hit: the blob must exist with its recorded size; if its
   * mtime changed since it was stored, its bytes are re-hashed. A corrupt blob is evicted.
   */
  verify(hash: string): boolean {
    if (!SHA256_RE.test(hash)) return false;
    const path = this.pathOf(hash);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      this.stmts.remove.run(hash);
      return false;
    }
    const row = this.stmts.get.get(hash);
    const mtime = Math.floor(st.mtimeMs);
    if (row && row.size === st.size && row.mtime_ms === mtime) return true;
    if (row && row.size !== st.size) {
      this.evict(hash);
      return false;
    }
    // Unknown to the index or touched since: hash the bytes once and remember the result.
    const ok = sha256Hex(readFileSync(path)) === hash;
    if (!ok) {
      this.evict(hash);
      return false;
    }
    if (row) this.stmts.touchMtime.run(mtime, hash);
    else this.stmts.upsert.run(hash, st.size, mtime, null, null, Date.now());
    return true;
  }

  /** Removes a blob and its metadata. Returns the bytes freed (0 if it was absent). */
  evict(hash: string): number {
    assertHash(hash);
    const path = this.pathOf(hash);
    let size = 0;
    try {
      size = statSync(path).size;
      unlinkSync(path);
    } catch {
      // already gone
    }
    this.stmts.remove.run(hash);
    return size;
  }

  /** Every recorded blob with its size and when it was stored (epoch ms). */
  list(): { hash: string; size: number; created: number }[] {
    return this.stmts.all.all();
  }

  usage(): { count: number; bytes: number } {
    const row = this.stmts.total.get();
    return { count: row?.n ?? 0, bytes: row?.bytes ?? 0 };
  }

  /** Whether the blob exists and its bytes hash to `hash` (full read); a corrupt one is evicted. */
  private async intact(hash: string): Promise<boolean> {
    const path = this.pathOf(hash);
    if (!existsSync(path)) return false;
    let actual: string;
    try {
      actual = (await sha256File(path)).hash;
    } catch {
      return false;
    }
    if (actual === hash) return true;
    this.evict(hash);
    return false;
  }

  private async moveIntoPlace(src: string, dest: string): Promise<void> {
    mkdirSync(join(dest, '..'), { recursive: true });
    try {
      renameSync(src, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Source on another filesystem: copy next to the destination, then rename atomically.
      const tmp = this.tempPath();
      await copyWholeFile(src, tmp);
      renameSync(tmp, dest);
      unlinkSync(src);
    }
  }

  private record(hash: string, path: string, meta: ArtifactMeta | undefined): void {
    const st = statSync(path);
    this.stmts.upsert.run(
      hash,
      st.size,
      Math.floor(st.mtimeMs),
      meta?.contentType ?? null,
      meta?.label ?? null,
      Date.now(),
    );
  }
}

function assertHash(hash: string): void {
  if (!SHA256_RE.test(hash)) throw new Error(`not a sha256 artifact hash: ${JSON.stringify(hash)}`);
}

export function createArtifactStore(db: AppDatabase): FileArtifactStore {
  return new FileArtifactStore(db);
}
