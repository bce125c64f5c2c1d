import type { ExecutorEvent } from '../../executor/events.ts';
import type { NodeStatus, RunOutcome } from '../../executor/runState.ts';
import { formatDuration, outcomeLines, type PlannedNode, percent, type RunRenderer } from './renderer.ts';

type Row = {
  node: PlannedNode;
  status: NodeStatus;
  value: number;
  max: number;
  text?: string;
  started?: number;
  finished?: number;
};

const BAR = 24;
const REDRAW_MS = 100;
const ICON: Record<NodeStatus, string> = {
  pending: '·',
  running: '▶',
  cached: '◆',
  done: '✓',
  failed: '✗',
  skipped: '-',
  cancelled: '■',
};

/** Terminal view: one line per node with a progress bar, redrawn in place at most 10 times a second. */
export class TtyRenderer implements RunRenderer {
  private rows: Row[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly notes: string[] = [];

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly err: (line: string) => void,
  ) {}

  start(runId: string, nodes: PlannedNode[]): void {
    this.rows = nodes.map((node) => ({ node, status: 'pending', value: 0, max: 0 }));
    this.stream.write(`run ${runId}\n`);
    this.draw();
  }

  event(e: ExecutorEvent): void {
    const row = this.rows.find((r) => r.node.id === e.nodeId);
    if (!row) return;
    switch (e.type) {
      case 'node.started':
        row.status = 'running';
        row.started = e.ts;
        break;
      case 'node.progress':
        row.value = e.value;
        row.max = e.max;
        if (e.text === undefined) delete row.text;
        else row.text = e.text;
        break;
      case 'node.cached':
        row.status = 'cached';
        break;
      case 'node.output':
        row.status = 'done';
        row.finished = e.ts;
        if (row.max > 0) row.value = row.max;
        break;
      case 'node.failed':
        row.status = 'failed';
        row.finished = e.ts;
        row.text = e.error.message;
        break;
      case 'node.skipped':
        row.status = 'skipped';
        break;
      case 'node.cancelled':
        row.status = 'cancelled';
        break;
      case 'node.log':
        if (e.level !== 'info') this.notes.push(`${e.nodeId} ${e.level}: ${e.message}`);
        break;
      case 'node.event':
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
    this.schedule();
  }

  finish(outcome: RunOutcome): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
    for (const n of this.notes) this.err(`${n}\n`);
    this.stream.write(
      `${outcomeLines(
        outcome,
        this.rows.map((r) => r.node),
      ).join('\n')}\n`,
    );
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty) this.draw();
    }, REDRAW_MS);
  }

  private line(r: Row): string {
    const width = Math.max(40, (this.stream.columns ?? 80) - 1);
    const name = `${ICON[r.status]} ${r.node.id} ${r.node.title}`.slice(0, 32).padEnd(32);
    let tail: string;
    if (r.status === 'running' && r.max > 0) {
      const filled = Math.round((percent(r.value, r.max) / 100) * BAR);
      tail = `[${'#'.repeat(filled)}${' '.repeat(BAR - filled)}] ${percent(r.value, r.max)}%${r.text ? ` ${r.text}` : ''}`;
    } else if (r.status === 'done' && r.started !== undefined && r.finished !== undefined) {
      tail = `done ${formatDuration(r.finished - r.started)}`;
    } else if (r.status === 'failed') {
      tail = `failed: ${r.text ?? ''}`;
    } else {
      tail = r.status;
    }
    return `${name} ${tail}`.slice(0, width);
  }

  private draw(): void {
    this.dirty = false;
    let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const r of this.rows) out += `\x1b[2K${this.line(r)}\n`;
    this.drawn = this.rows.length;
    this.stream.write(out);
  }
}
