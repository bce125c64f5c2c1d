import type { Statement, Transaction } from 'better-sqlite3';
import type { NodeErrorInfo } from '../executor/events.ts';
import type { AppDatabase } from '../store/database.ts';
import { collectArtifactHashes } from '../store/hash.ts';
import { queueMigrations } from './migrations.ts';
import type {
  LogEntry,
  NodeState,
  NodeStatus,
  RunDetail,
  RunEvent,
  RunStatus,
  RunSummary,
} from './runTypes.ts';

type RunRow = {
  id: string;
  seq: number;
  status: RunStatus;
  name: string | null;
  workflow: string;
  outputs: string | null;
  created: number;
  started: number | null;
  finished: number | null;
  error: string | null;
  attempts: number;
};

type NodeRow = {
  run_id: string;
  node_id: string;
  node_type: string;
  status: NodeStatus;
  outputs: string | null;
  display: string | null;
  error: string | null;
  reason: string | null;
  logs: string | null;
  started: number | null;
  finished: number | null;
};

type EventRow = { seq: number; node_id: string; type: string; data: string; created: number };

export type ListRunsOptions = { limit: number; before?: number; status?: RunStatus };

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

function duration(started: number | null, finished: number | null): number | null {
  return started !== null && finished !== null ? finished - started : null;
}

function toSummary(r: RunRow): RunSummary {
  return {
    id: r.id,
    seq: r.seq,
    status: r.status,
    name: r.name,
    outputs: parseJson<string[]>(r.outputs),
    created: r.created,
    started: r.started,
    finished: r.finished,
    durationMs: duration(r.started, r.finished),
    error: r.error,
    attempts: r.attempts,
  };
}

function toNodeState(r: NodeRow): NodeState {
  return {
    nodeId: r.node_id,
    type: r.node_type,
    status: r.status,
    started: r.started,
    finished: r.finished,
    durationMs: duration(r.started, r.finished),
    outputs: parseJson(r.outputs),
    display: parseJson(r.display),
    error: parseJson<NodeErrorInfo>(r.error),
    reason: r.reason,
    logs: parseJson<LogEntry[]>(r.logs) ?? [],
  };
}

/** SQLite persistence of runs, their node states and their custom node events. Synchronous by design. */
export class RunRepository {
  private readonly s: {
    insert: Statement;
    nextSeq: Statement;
    get: Statement;
    nodes: Statement;
    started: Statement;
    finished: Statement;
    requeue: Statement;
    unfinished: Statement;
    replaceNodes: Transaction<(runId: string, states: readonly NodeState[]) => void>;
    resetNodes: Statement;
    nextEventSeq: Statement;
    insertEvent: Statement;
    count: Statement;
    countStatus: Statement;
  };

  constructor(readonly db: AppDatabase) {
    db.migrateAll(queueMigrations);
    const q = db.sqlite;
    this.s = {
      insert: q.prepare(
        'INSERT INTO runs (id, seq, status, name, workflow, outputs, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      nextSeq: q.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM runs'),
      get: q.prepare('SELECT * FROM runs WHERE id = ?'),
      nodes: q.prepare('SELECT * FROM run_nodes WHERE run_id = ? ORDER BY COALESCE(started, 9e15), node_id'),
      started: q.prepare(
        "UPDATE runs SET status = 'running', started = ?, attempts = attempts + 1, finished = NULL, error = NULL WHERE id = ?",
      ),
      finished: q.prepare('UPDATE runs SET status = ?, finished = ?, error = ? WHERE id = ?'),
      requeue: q.prepare("UPDATE runs SET status = 'queued' WHERE id = ?"),
      unfinished: q.prepare("SELECT * FROM runs WHERE status IN ('queued', 'running') ORDER BY seq"),
      replaceNodes: (() => {
        // Positional parameters and no merging: the fast path for writing whole states in one transaction.
        const put = q.prepare(
          `INSERT OR REPLACE INTO run_nodes (run_id, node_id, node_type, status, outputs, display, error, reason, logs, started, finished)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        return q.transaction((runId: string, states: readonly NodeState[]) => {
          for (const n of states) {
            put.run(
              runId,
              n.nodeId,
              n.type,
              n.status,
              n.outputs === null ? null : JSON.stringify(n.outputs),
              n.display === null ? null : JSON.stringify(n.display),
              n.error === null ? null : JSON.stringify(n.error),
              n.reason,
              n.logs.length ? JSON.stringify(n.logs) : null,
              n.started,
              n.finished,
            );
          }
        });
      })(),
      resetNodes: q.prepare('DELETE FROM run_nodes WHERE run_id = ?'),
      nextEventSeq: q.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM run_events WHERE run_id = ?'),
      insertEvent: q.prepare(
        'INSERT INTO run_events (run_id, seq, node_id, type, data, created) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      count: q.prepare('SELECT COUNT(*) AS n FROM runs'),
      countStatus: q.prepare('SELECT COUNT(*) AS n FROM runs WHERE status = ?'),
    };
  }

  insert(run: {
    id: string;
    name: string | null;
    workflow: unknown;
    outputs: string[] | null;
    created: number;
  }): RunSummary {
    const tx = this.db.sqlite.transaction(() => {
      const { seq } = this.s.nextSeq.get() as { seq: number };
      this.s.insert.run(
        run.id,
        seq,
        'queued',
        run.name,
        JSON.stringify(run.workflow),
        run.outputs ? JSON.stringify(run.outputs) : null,
        run.created,
      );
      return seq;
    });
    const seq = tx.immediate();
    return {
      id: run.id,
      seq,
      status: 'queued',
      name: run.name,
      outputs: run.outputs,
      created: run.created,
      started: null,
      finished: null,
      durationMs: null,
      error: null,
      attempts: 0,
    };
  }

  summary(id: string): RunSummary | undefined {
    const row = this.s.get.get(id) as RunRow | undefined;
    return row ? toSummary(row) : undefined;
  }

  /** The stored workflow document of a run (as submitted, after --set/migration). */
  workflow(id: string): unknown {
    const row = this.s.get.get(id) as RunRow | undefined;
    return row ? JSON.parse(row.workflow) : undefined;
  }

  detail(id: string): RunDetail | undefined {
    const row = this.s.get.get(id) as RunRow | undefined;
    if (!row) return undefined;
    const nodes = (this.s.nodes.all(id) as NodeRow[]).map(toNodeState);
    return { ...toSummary(row), workflow: JSON.parse(row.workflow), nodes };
  }

  nodeStates(id: string): NodeState[] {
    return (this.s.nodes.all(id) as NodeRow[]).map(toNodeState);
  }

  /** Newest first. `before` is a `seq` cursor: pass the last page's `nextBefore`. */
  list(o: ListRunsOptions): { runs: RunSummary[]; total: number; nextBefore: number | null } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (o.before !== undefined) {
      where.push('seq < ?');
      args.push(o.before);
    }
    if (o.status) {
      where.push('status = ?');
      args.push(o.status);
    }
    const sql = `SELECT id, seq, status, name, outputs, created, started, finished, error, attempts, '' AS workflow FROM runs${
      where.length ? ` WHERE ${where.join(' AND ')}` : ''
    } ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.sqlite.prepare(sql).all(...args, o.limit + 1) as RunRow[];
    const page = rows.slice(0, o.limit).map(toSummary);
    const total = (
      (o.status ? this.s.countStatus.get(o.status) : this.s.count.get()) as {
        n: number;
      }
    ).n;
    const last = page[page.length - 1];
    return { runs: page, total, nextBefore: rows.length > o.limit && last ? last.seq : null };
  }

  /** Marks a run running; a resumed run starts with a clean slate of node states. */
  markStarted(id: string, time: number): void {
    const tx = this.db.sqlite.transaction(() => {
      this.s.resetNodes.run(id);
      this.s.started.run(time, id);
    });
    tx.immediate();
  }

  markFinished(id: string, status: RunStatus, time: number, error: string | null): void {
    this.s.finished.run(status, time, error, id);
  }

  /** Queued and interrupted runs, oldest first: what a restarted server must run. */
  unfinished(): RunSummary[] {
    return (this.s.unfinished.all() as RunRow[]).map(toSummary);
  }

  /**
   * Artifacts referenced by queued and running runs (their workflows and finished nodes' outputs), for a
   * garbage collection run by another process (the CLI) than the server holding the live pins.
   */
  unfinishedReferences(): Set<string> {
    const pins = new Set<string>();
    for (const run of this.unfinished()) {
      collectArtifactHashes(this.workflow(run.id), pins);
      for (const n of this.nodeStates(run.id)) collectArtifactHashes([n.outputs, n.display], pins);
    }
    return pins;
  }

  requeue(id: string): void {
    this.s.requeue.run(id);
  }

  /** Writes complete node states (progress is not stored), all in one transaction. */
  writeNodes(runId: string, states: readonly NodeState[]): void {
    this.s.replaceNodes.immediate(runId, states);
  }

  appendEvent(runId: string, nodeId: string, type: string, data: unknown, time: number): number {
    const tx = this.db.sqlite.transaction(() => {
      const { seq } = this.s.nextEventSeq.get(runId) as { seq: number };
      this.s.insertEvent.run(runId, seq, nodeId, type, JSON.stringify(data ?? null), time);
      return seq;
    });
    return tx.immediate();
  }

  /** Custom node events of a run, oldest first; `since` returns only events with a greater seq. */
  events(runId: string, o: { node?: string; type?: string; since?: number; limit: number }): RunEvent[] {
    const where = ['run_id = ?'];
    const args: (string | number)[] = [runId];
    if (o.node !== undefined) {
      where.push('node_id = ?');
      args.push(o.node);
    }
    if (o.type !== undefined) {
      where.push('type = ?');
      args.push(o.type);
    }
    if (o.since !== undefined) {
      where.push('seq > ?');
      args.push(o.since);
    }
    const rows = this.db.sqlite
      .prepare(
        `SELECT seq, node_id, type, data, created FROM run_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`,
      )
      .all(...args, o.limit) as EventRow[];
    return rows.map((r) => ({
      seq: r.seq,
      nodeId: r.node_id,
      type: r.type,
      data: JSON.parse(r.data),
      time: r.created,
    }));
  }
}
