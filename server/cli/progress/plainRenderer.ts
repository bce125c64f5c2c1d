import type { ExecutorEvent } from '../../executor/events.ts';
import type { RunOutcome } from '../../executor/runState.ts';
import { formatDuration, outcomeLines, type PlannedNode, percent, type RunRenderer } from './renderer.ts';

const PROGRESS_EVERY_MS = 2000;

/** For logs and pipes: one line per state change, progress at most every 2 s per node. */
export class PlainRenderer implements RunRenderer {
  private nodes: PlannedNode[] = [];
  private readonly lastProgress = new Map<string, number>();
  private readonly started = new Map<string, number>();

  constructor(
    private readonly out: (line: string) => void,
    private readonly err: (line: string) => void,
  ) {}

  private name(id: string): string {
    const n = this.nodes.find((p) => p.id === id);
    return n ? `${id} (${n.type})` : id;
  }

  start(runId: string, nodes: PlannedNode[]): void {
    this.nodes = nodes;
    this.out(`run ${runId}: ${nodes.length} node${nodes.length === 1 ? '' : 's'} to run\n`);
  }

  event(e: ExecutorEvent): void {
    switch (e.type) {
      case 'node.started':
        this.started.set(e.nodeId, e.ts);
        this.out(`${this.name(e.nodeId)} started\n`);
        return;
      case 'node.progress': {
        const last = this.lastProgress.get(e.nodeId);
        if (last !== undefined && e.ts - last < PROGRESS_EVERY_MS && e.value < e.max) return;
        this.lastProgress.set(e.nodeId, e.ts);
        this.out(
          `${this.name(e.nodeId)} ${percent(e.value, e.max)}% (${e.value}/${e.max})${e.text ? ` ${e.text}` : ''}\n`,
        );
        return;
      }
      case 'node.cached':
        this.out(`${this.name(e.nodeId)} cached\n`);
        return;
      case 'node.output': {
        const t0 = this.started.get(e.nodeId);
        this.out(
          `${this.name(e.nodeId)} ${e.bypassed ? 'bypassed' : 'done'}${t0 !== undefined ? ` in ${formatDuration(e.ts - t0)}` : ''}\n`,
        );
        return;
      }
      case 'node.failed':
        this.err(`${this.name(e.nodeId)} failed: ${e.error.message}\n`);
        return;
      case 'node.skipped':
        this.out(`${this.name(e.nodeId)} skipped: ${e.reason}\n`);
        return;
      case 'node.cancelled':
        this.out(`${this.name(e.nodeId)} cancelled\n`);
        return;
      case 'node.log':
        if (e.level === 'info') this.out(`${this.name(e.nodeId)}: ${e.message}\n`);
        else this.err(`${this.name(e.nodeId)} ${e.level}: ${e.message}\n`);
        return;
      case 'node.event':
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  finish(outcome: RunOutcome): void {
    const [head, ...rest] = outcomeLines(outcome, this.nodes);
    (outcome.status === 'succeeded' ? this.out : this.err)(`${[head, ...rest].join('\n')}\n`);
  }
}
