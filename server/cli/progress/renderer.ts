import type { ExecutorEvent } from '../../executor/events.ts';
import type { RunOutcome } from '../../executor/runState.ts';

export type PlannedNode = { id: string; type: string; title: string };

/** How `loraflow run` shows a run: TTY progress bars, plain lines, or NDJSON. */
export interface RunRenderer {
  start(runId: string, nodes: PlannedNode[]): void;
  event(e: ExecutorEvent): void;
  finish(outcome: RunOutcome): void;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function percent(value: number, max: number): number {
  return max > 0 ? Math.max(0, Math.min(100, Math.floor((value / max) * 100))) : 0;
}

/** Summary lines for the end of a run: failed nodes with their errors and hints, skipped ones with why. */
export function outcomeLines(outcome: RunOutcome, nodes: PlannedNode[]): string[] {
  const lines: string[] = [];
  const label = (id: string) => {
    const n = nodes.find((p) => p.id === id);
    return n ? `${id} (${n.type})` : id;
  };
  for (const [id, s] of Object.entries(outcome.nodes)) {
    if (s.status === 'failed' && s.error) {
      lines.push(`  ✗ ${label(id)}: ${s.error.message}`);
      if (s.error.hint) lines.push(`      hint: ${s.error.hint}`);
    }
  }
  const skipped = Object.entries(outcome.nodes).filter(([, s]) => s.status === 'skipped');
  if (skipped.length) lines.push(`  skipped: ${skipped.map(([id]) => id).join(', ')}`);
  const counts = new Map<string, number>();
  for (const s of Object.values(outcome.nodes)) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const summary = [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
  const took = formatDuration(outcome.finishedAt - outcome.startedAt);
  lines.unshift(`run ${outcome.status} in ${took}${summary ? ` (${summary})` : ''}`);
  return lines;
}
